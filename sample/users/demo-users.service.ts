import { Injectable } from '@nestjs/common';
import { randomBytes, scrypt as scryptCallback, scryptSync, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const scrypt = promisify(scryptCallback) as (password: string, salt: Buffer, keyLength: number) => Promise<Buffer>;
const KEY_LENGTH = 32;

/** A user of the demo. */
export interface DemoUser {
  readonly id: string;
  readonly username: string;
}

interface StoredUser extends DemoUser {
  readonly salt: Buffer;
  readonly hash: Buffer;
}

function stored(id: string, username: string, password: string): StoredUser {
  const salt = randomBytes(16);
  return { id, username, salt, hash: scryptSync(password, salt, KEY_LENGTH) };
}

/**
 * The demo's user directory: `alice` and `bob`, both with the password `secret`.
 * Passwords are kept as scrypt hashes and compared in constant time; an unknown
 * user name costs the same hashing as a known one, so timing does not tell
 * which names exist.
 */
@Injectable()
export class DemoUsersService {
  private readonly byName = new Map<string, StoredUser>();
  private readonly byId = new Map<string, StoredUser>();
  private readonly decoy = stored('-', '-', randomBytes(16).toString('hex'));

  constructor() {
    for (const user of [stored('u-1001', 'alice', 'secret'), stored('u-1002', 'bob', 'secret')]) {
      this.byName.set(user.username, user);
      this.byId.set(user.id, user);
    }
  }

  /** The user with these credentials, or null. */
  async authenticate(username: string, password: string): Promise<DemoUser | null> {
    const user = this.byName.get(username);
    const ok = await this.matches(user ?? this.decoy, password);
    return ok && user !== undefined ? { id: user.id, username: user.username } : null;
  }

  /** Whether `password` is the password of user `userId` (for a step-up). */
  async verifyPassword(userId: string, password: string): Promise<boolean> {
    const user = this.byId.get(userId);
    const ok = await this.matches(user ?? this.decoy, password);
    return ok && user !== undefined;
  }

  /** The user with this id, if any. */
  findById(userId: string): DemoUser | undefined {
    const user = this.byId.get(userId);
    return user === undefined ? undefined : { id: user.id, username: user.username };
  }

  private async matches(user: StoredUser, password: string): Promise<boolean> {
    const hash = await scrypt(password, user.salt, KEY_LENGTH);
    return timingSafeEqual(hash, user.hash);
  }
}
