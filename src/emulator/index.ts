/**
 * An offline Amazon Cognito Identity service (`cognito-identity-broker/emulator`) that the AWS SDK
 * and CLI talk to with an endpoint override: all 23 operations over AWS JSON 1.1, validated against
 * the service model, with RS512 tokens (`/.well-known/jwks_uri`) and STS-shaped credentials. The
 * same endpoint answers STS (AWS query protocol, XML) for what the emulator issues:
 * AssumeRoleWithWebIdentity and GetCallerIdentity.
 *
 * Behaviour worth knowing (where the real service is undocumented, the emulator picks one rule):
 * - Every region is served by one process, as one account: a signed call is answered in the region
 *   of its SigV4 credential scope (a scope that is not a region: InvalidSignatureException), an
 *   unsigned call in the region of the pool or identity id it names (`REGION:GUID`), else in the
 *   `region` option's. Pools and identities of one region are invisible from another; ids, ARNs
 *   (in the region's partition) and token kids carry the region. A region holds state and keys from
 *   its first signed call; an unsigned call naming a region never used gets ResourceNotFoundException.
 *   At most 64 regions (LimitExceededException past them).
 * - Token kids are `<region>-<n>` (the service's read `<region><n>`, e.g. `ap-northeast-15`). `iss`
 *   is the one the developer guide documents: `https://cognito-identity.amazonaws.com` in the
 *   Regions enabled by default, `https://cognito-identity.<region>.amazonaws.com` in opt-in Regions
 *   and GovCloud (US-East), `https://cognito-identity-us-gov.amazonaws.com` in GovCloud (US-West),
 *   `https://cognito-identity.<region>.amazonaws.com.cn` in China. The one discovery document names
 *   the `region` option's issuer, and the one JWKS (at the emulator's endpoint) lists the keys of
 *   every region used; both answer `Cache-Control: public, max-age=3600` (the emulator's figure).
 *   Cognito tokens go under `cognito-identity.amazonaws.com` in a `Logins` map in every region but
 *   China's (`cognito-identity.<region>.amazonaws.com.cn`).
 * - Developer operations need a SigV4 `Authorization` header (strict mode verifies it); GetId,
 *   GetOpenIdToken, GetCredentialsForIdentity and UnlinkIdentity are unsigned.
 * - GetOpenIdToken's tokens last 10 minutes (the model's figure); every token carries the
 *   `https://cognito-identity.amazonaws.com/identity-pool-arn` claim.
 * - Public provider logins (`graph.facebook.com`, `accounts.google.com`, …) are accepted only with
 *   tokens minted by {@link RunningEmulator.mintProviderToken} for the app id the pool configured,
 *   in every region. Any other token (a real provider's included) is refused with
 *   NotAuthorizedException in the service's words: "Invalid login token. Couldn't verify signed
 *   token." (opaque providers, bad signatures), "… Not a valid OpenId Connect identity token."
 *   (others, not a JWT), "… Issuer doesn't match providerName", "… Incorrect token audience.",
 *   "… Token expired: NOW >= EXP". OpenID Connect, SAML and user pool providers are not verified.
 * - Quotas are off by default. `quotas: 'aws'` (`--quotas aws`) enforces the documented defaults per
 *   region over any one-second window (GetOpenIdTokenForDeveloperIdentity 50, GetCredentialsForIdentity
 *   and GetOpenIdToken 200, GetId 25, ListIdentities 5, DeleteIdentities 10; no other operation is
 *   limited, LookupDeveloperIdentity included) with TooManyRequestsException "Rate exceeded". An
 *   unsigned call is counted in the region its id names, after the body is read.
 * - The control endpoint answers loopback peers that name a loopback `Host`; POST and PUT need
 *   `Content-Type: application/json`.
 * - UnlinkIdentity authenticates with `Logins` holding either the provider token of a login linked
 *   to the identity, or a Cognito OpenID token for the identity under `cognito-identity.amazonaws.com`.
 *   Removing a provider that is not linked is a no-op; the developer provider is removed only with
 *   UnlinkDeveloperIdentity (InvalidParameterException otherwise).
 * - MergeDeveloperIdentities moves every login of the source identity (developer users and public
 *   logins) to the destination and disables the source; different users of one public provider
 *   on both sides give ResourceConflictException.
 * - Implicit merges: GetOpenIdToken and GetCredentialsForIdentity naming an identity with a public
 *   login linked to another identity merge the named one into the login's owner, which answers
 *   (its IdentityId, token, credentials), when the call may speak for the named identity: a guest,
 *   or one whose own login (or Cognito token) is in the map; else ResourceConflictException. GetId
 *   with logins of several identities merges them into the oldest. A call refused after it merged (a
 *   later merge, link or check fails) leaves no merge behind: all of its merges are made, or none. GetOpenIdTokenForDeveloperIdentity
 *   never merges (DeveloperUserAlreadyRegisteredException, ResourceConflictException).
 * - An identity whose last login is unlinked is disabled: "Access to Identity '…' is forbidden.".
 * - More than 20 linked logins give LimitExceededException; more than 50 tags, `aws:` tag keys, or
 *   tag keys and values with characters other than letters, numbers, spaces and `_ . : / = + - @`,
 *   InvalidParameterException (in the emulator's words); DeleteIdentities reports unknown ids with
 *   ErrorCode `AccessDenied`.
 * - GetCredentialsForIdentity: CustomRoleArn must be the pool's role for the identity's kind, or a
 *   role the identity's own logins earn: a role of a Rules mapping rule its claims match, a
 *   `cognito:roles`/`cognito:preferred_role` claim of a Token mapping; never a rule it does not
 *   match nor a mapping of a provider it has no login of (NotAuthorizedException). Mappings are
 *   looked up by the providers in the token's `amr` (the developer provider for developer
 *   identities) and match on the token's claims and principal tags (a tag never replaces a claim
 *   of the token, nor supplies a `cognito:` claim such as the role claims). With several mapped
 *   providers (the service documents no rule), the order of `Logins` never matters: a mapping that
 *   resolves no role and says Deny denies ("The ambiguous role mapping rules for: PROVIDER denied
 *   this request."), else the first of them in the pool's RoleMappings order decides.
 *   SetIdentityPoolRoles refuses a mapping keyed by a provider the pool does not have
 *   (InvalidParameterException, in the emulator's words): its supported login providers, user pools
 *   (`cognito-idp.REGION.amazonaws.com/POOL:CLIENT`), OpenID Connect and SAML ARNs, and (an emulator
 *   choice) its developer provider. The SessionToken embeds the role: read it with
 *   {@link describeSessionToken}.
 * - With a state file, an answer to a call that changes state means the change is on disk: it waits
 *   for the group commit that holds it, one checksummed record of the records changed, appended to
 *   `STATEFILE.log` and fdatasync'd, so the latency of such calls includes an fdatasync. The log is
 *   folded into the snapshot (`STATEFILE`, written to a temp file, fsync'd and renamed) at start, at
 *   `stop()`, and when it outgrows both the snapshot and `stateLogBytes` (8 MiB by default); a
 *   stopped emulator leaves `STATEFILE` alone. At start a last record cut short by a crash (before
 *   its newline) is ignored (it was never acknowledged); other damage to either file refuses the
 *   start, naming the file and leaving it untouched, a complete last record that fails its checksum
 *   included. The format is version 2; version-1 files are read and rewritten as version 2 at start.
 *   Every answer, an error answer included, waits until each change of its region made before it
 *   ended is on disk (STS's answers: of every region), so a call never acknowledges a change it read
 *   that a failed write then undoes; a call with no such change waiting for the disk answers at
 *   once. An STS call that read a change a failed write undoes answers InternalFailure (500).
 *   A write that fails (disk full, EACCES) answers InternalErrorException (500) to every call whose
 *   change it held, or that changed state during it or read such a change, and returns the state to
 *   what is on disk: the change is not made, so a retry is safe (the real service gives no such
 *   promise for a 500).
 * - One process owns a state file: `STATEFILE.lock` (created with O_EXCL) names its pid, host and
 *   start time; a second emulator refuses to start, naming them. A lock whose process is gone (its
 *   pid dead, or reused by a process with another start time, read from /proc where there is one)
 *   is taken over; a lock written on another host is never taken over. `stop()` releases it.
 * - AllowClassicFlow: GetOpenIdToken (the basic flow's step) on a pool whose AllowClassicFlow was set
 *   to false is refused with InvalidParameterException "Basic (classic) flow is not enabled, please
 *   use enhanced flow.", as the service does; a pool that never set it allows GetOpenIdToken (so does
 *   the service), though DescribeIdentityPool reports `AllowClassicFlow: false` for it. STS does not
 *   look at the flag: tokens of GetOpenIdTokenForDeveloperIdentity (the developer basic flow) are
 *   accepted for any pool. A pool with role mappings refuses GetOpenIdToken whatever the flag says:
 *   "Basic (classic) flow is not supported with RoleMappings, please use enhanced flow.", as the
 *   service does.
 * - STS serves only AssumeRoleWithWebIdentity and GetCallerIdentity, over `POST /` with a form body
 *   (no GET, no presigned URLs); any SigV4 scope region is accepted. There is no IAM: every role ARN
 *   of the form `arn:aws:iam::ACCOUNT:role/[PATH/]NAME` exists, with a session of at most 43200 s
 *   (no MaxSessionDuration). Session policies are not enforced: `Policy` is checked for IAM's
 *   grammar (MalformedPolicyDocument: "The policy is not in the valid JSON format.", "Syntax errors
 *   in policy.", a principal), and packed with the `PolicyArns` by deflating them, 100 % being
 *   1,024 bytes (the emulator's figure; STS does not document its packing): PackedPolicySize is
 *   answered when there are any, PackedPolicyTooLarge past 100 %. More than 10 `PolicyArns` (STS
 *   documents "up to 10"; its model sets no maximum) answer ValidationError. A value shown in a
 *   validation message (Cognito's and STS's) is cut to its first 256 characters (the emulator's
 *   figure). SourceIdentity, session tags,
 *   and the newer models' SessionTokenUtilization and SessionTokenSize are never returned; ProviderId
 *   is ignored. Every pool's roles keep the trust policy Cognito's
 *   console writes for that pool: its authenticated role for that pool's tokens whose `amr` says
 *   authenticated, its unauthenticated role for that pool's guests (a role of several pools, for
 *   each of them), and a role a rule of its role mappings names is trusted as its authenticated
 *   role (the developer guide's "Creating roles for role mapping"), else AccessDenied. A role of no
 *   pool takes any of the emulator's tokens: that includes a role reached only through a Token
 *   mapping's `cognito:roles`/`cognito:preferred_role` claims, which no pool's configuration names.
 * - AssumeRoleWithWebIdentity accepts only the emulator's own Cognito OpenID tokens (signature, `iss`,
 *   `exp`, `aud` = a pool that exists): InvalidIdentityToken otherwise, ExpiredTokenException once
 *   expired. GetCallerIdentity verifies the SigV4 signature with temporary credentials the emulator
 *   minted (GetCredentialsForIdentity: session `CognitoIdentityCredentials`; AssumeRoleWithWebIdentity):
 *   InvalidClientTokenId (403) for any other key, including the developer keys of `strictSigV4`,
 *   SignatureDoesNotMatch (403), ExpiredToken (400), MissingAuthenticationToken (403) when unsigned.
 *   SignatureDoesNotMatch shows the canonical request with `x-amz-security-token` redacted. STS calls
 *   are counted in {@link RunningEmulator.counters} but never faulted.
 * - Minted credentials hold no per-credential state: the session token carries its session under an
 *   HMAC of a key kept in the state file, so they verify after a restart on the same file.
 */
export { startEmulator } from './start.js';
export { EmulatorControlClient, EmulatorControlError } from './control-client.js';
export { describeSessionToken, type SessionTokenInfo } from './session-token.js';
export { EMULATOR_ACCOUNT_ID } from './service/state.js';
export type {
  EmulatorClock,
  EmulatorCredentials,
  EmulatorOptions,
  FaultSpec,
  PoolInfo,
  RunningEmulator,
  SeedPool,
} from './types.js';
