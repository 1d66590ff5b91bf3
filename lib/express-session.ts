/**
 * `nestjs-pg-session/express-session`: the express-session store. Kept out of the
 * package root so apps without express-session (an optional peer) never load it.
 */
export { ExpressSessionStore } from './framework-stores/express-session.store.js';
export { FRAMEWORK_STORE_GROUP_ID, type FrameworkStoreOptions } from './framework-stores/framework-store-options.interface.js';
export { frameworkRowId } from './framework-stores/framework-session-id.js';
