// The `cognito-identity-broker/middleware` subpath: the router and error handler (also at the root),
// the single-route factories and the login, logout and CSRF steps, for apps that assemble their own
// routes.
export { afterLogin } from './after-login.js';
export type { AfterLoginOptions, AfterLoginResult, GuestOutcome } from './after-login.js';
export { isCrossSiteRequest, sameOriginOnly } from './csrf.js';
export type { SameOriginOptions } from './csrf.js';
export { brokerErrorHandler } from './error-handler.js';
export type { ErrorHandlerOptions } from './error-handler.js';
export { GUEST_SESSION_KEY } from './guest-session.js';
export { forgetOnLogout } from './logout.js';
export { PROBLEM_CONTENT_TYPE } from './problem.js';
export type { Problem } from './problem.js';
export { createRateLimiter } from './rate-limit.js';
export type { RateLimiter, RateLimitOptions } from './rate-limit.js';
export type { RouteOptions } from './route-options.js';
export { cognitoRouter } from './router.js';
export type { CognitoRouter, CognitoRouterOptions } from './router.js';
export { credentialsRoute } from './routes/credentials.js';
export { guestRoute } from './routes/guest.js';
export type { GuestRouteOptions } from './routes/guest.js';
export { identityRoute } from './routes/identity.js';
export type { IdentityResponse, IdentityRouteOptions } from './routes/identity.js';
export { linkLoginRoute, unlinkLoginRoute } from './routes/logins.js';
export type { LoginRouteOptions } from './routes/logins.js';
export { mergeRoute } from './routes/merge.js';
export type { MergeRouteOptions, VerifyMergeSource } from './routes/merge.js';
export { scopedCredentialsRoute } from './routes/scoped-credentials.js';
export type { ScopedCredentialsRouteOptions, ScopeForRequest } from './routes/scoped-credentials.js';
export { tokenRoute } from './routes/token.js';
export type { TokenResponse } from './routes/token.js';
export { defaultGetUserId, requireUserId } from './user-id.js';
export type { GetUserId } from './user-id.js';
export type { CredentialsResponse } from '../broker/index.js';
