// Compile-time checks of typed attributes: `npm run build:all` fails if these stop holding.
import type { Session } from '../lib/index.js';
declare const s: Session<{ cart: string[] }>;
s.setAttribute('cart', ['a']);
s.setAttribute('other', 42);
// @ts-expect-error a typed key with a value of the wrong type
s.setAttribute('cart', 42);
declare const u: Session;
u.setAttribute('anything', 1);
const c: string[] | undefined = s.getAttribute('cart');
void c;
