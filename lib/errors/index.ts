export * from './session.errors.js';
