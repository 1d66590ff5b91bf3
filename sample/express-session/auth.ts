import { Injectable, UnauthorizedException, type ExecutionContext } from '@nestjs/common';
import { AuthGuard, PassportSerializer, PassportStrategy } from '@nestjs/passport';
import { Strategy } from 'passport-local';
import { DemoUsersService, type DemoUser } from '../users/demo-users.service.js';

/** passport-local: username + password from the JSON body. */
@Injectable()
export class LocalStrategy extends PassportStrategy(Strategy) {
  constructor(private readonly users: DemoUsersService) {
    super();
  }

  async validate(username: string, password: string): Promise<DemoUser> {
    const user = await this.users.authenticate(username, password);
    if (user === null) throw new UnauthorizedException('Bad username or password.');
    return user;
  }
}

/** Keeps only the user id in the session (`passport.user`): the store makes that the session's owner. */
@Injectable()
export class UserSerializer extends PassportSerializer {
  constructor(private readonly users: DemoUsersService) {
    super();
  }

  serializeUser(user: DemoUser, done: (err: unknown, id?: string) => void): void {
    done(null, user.id);
  }

  deserializeUser(id: string, done: (err: unknown, user?: DemoUser | false) => void): void {
    done(null, this.users.findById(id) ?? false);
  }
}

/** `AuthGuard('local')` that also starts the login session (Passport regenerates the session id). */
@Injectable()
export class LoginGuard extends AuthGuard('local') {
  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const ok = (await super.canActivate(context)) as boolean;
    await super.logIn(context.switchToHttp().getRequest());
    return ok;
  }
}
