/**
 * `nestjs-pg-session/fastify-session`: the @fastify/session store. Kept out of the
 * package root; it loads neither fastify nor @fastify/session itself.
 */
export { FastifySessionStore } from './framework-stores/fastify-session.store.js';
export { FRAMEWORK_STORE_GROUP_ID, type FrameworkStoreOptions } from './framework-stores/framework-store-options.interface.js';
export { frameworkRowId } from './framework-stores/framework-session-id.js';
