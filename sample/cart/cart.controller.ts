import { Body, Controller, Get, Post } from '@nestjs/common';
import { Session } from 'nestjs-pg-session';
import { stringField } from '../common/body.js';
import type { AppSession } from '../sample-attributes.js';
import { CartService } from './cart.service.js';

/** `GET /cart` and `POST /cart/items {itemId}`, both answering `{ items }`. */
@Controller('cart')
export class CartController {
  constructor(private readonly cart: CartService) {}

  @Get()
  list(@Session() session: AppSession): { items: string[] } {
    return { items: this.cart.items(session) };
  }

  @Post('items')
  async add(@Session() session: AppSession, @Body() body: unknown): Promise<{ items: string[] }> {
    return { items: await this.cart.add(session, stringField(body, 'itemId', 64)) };
  }
}
