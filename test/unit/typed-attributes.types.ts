// Compile-time checks of typed attributes: `npm run build:all` fails if these stop holding.
import type { Session } from '../../lib/index.js';
declare const s: Session<{ cart: string[] }>;
s.setAttribute('cart', ['a']);
s.setAttribute('other', 42);
// @ts-expect-error a typed key with a value of the wrong type
s.setAttribute('cart', 42);
declare const u: Session;
u.setAttribute('anything', 1);
const c: string[] | undefined = s.getAttribute('cart');
void c;

// createSession checks the initial attributes against the declared shape.
import type { SessionService, SessionModuleAsyncOptions, SessionModuleOptionsFactory, SessionModuleOptions } from '../../lib/index.js';
import { SESSION_MODULE_OPTIONS } from '../../lib/index.js';
declare const service: SessionService;
void service.createSession<{ cart: string[] }>('u', { cart: { value: ['a'] }, other: { value: 42 } });
// @ts-expect-error a typed key with a value of the wrong type
void service.createSession<{ cart: string[] }>('u', { cart: { value: 42 } });
void service.createSession('u', { cart: { value: 42 } });

// forRootAsync's option types, the useClass factory interface and the options token are exported.
class OptionsFromConfig implements SessionModuleOptionsFactory {
  createSessionOptions(): SessionModuleOptions {
    return { connectionString: process.env.DATABASE_URL };
  }
}
const asyncOptions: SessionModuleAsyncOptions = { useClass: OptionsFromConfig, isGlobal: false };
const token: string | symbol = SESSION_MODULE_OPTIONS;
void asyncOptions;
void token;

// Without a type argument nothing is inferred from the initial values: an attribute
// created as an empty array (never[]) can still be set to anything later.
async function untypedCreate(): Promise<void> {
  const created = await service.createSession('u', { cart: { value: [] }, step: { value: 1 } });
  created.setAttribute('cart', ['x']);
  created.setAttribute('step', 'done');
}
void untypedCreate;
