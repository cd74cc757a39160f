import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MODEL } from '../../../../src/emulator/model/model.js';
import { STS_MODEL } from '../../../../src/emulator/model/sts-model.js';
import { SerializationError, Validator, validationMessage } from '../../../../src/emulator/http/validate.js';

const v = new Validator();
const msg = (shape: string, input: unknown): string => validationMessage(v.validate(shape, input));

void describe('emulator validation messages', () => {
  void it('reports a pattern violation exactly as the service does', () => {
    assert.equal(
      msg('DescribeIdentityPoolInput', { IdentityPoolId: 'us-east-1_abc' }),
      "1 validation error detected: Value 'us-east-1_abc' at 'identityPoolId' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w-]+:[0-9a-f-]+",
    );
  });

  void it('reports a missing required member as null', () => {
    assert.equal(
      msg('DescribeIdentityPoolInput', {}),
      "1 validation error detected: Value null at 'identityPoolId' failed to satisfy constraint: Member must not be null",
    );
  });

  void it('reports lengths, and counts several errors joined by "; "', () => {
    const long = `us-east-1:${'a'.repeat(50)}`;
    assert.equal(
      msg('DescribeIdentityInput', { IdentityId: long }),
      `1 validation error detected: Value '${long}' at 'identityId' failed to satisfy constraint: Member must have length less than or equal to 55`,
    );
    assert.equal(
      msg('CreateIdentityPoolInput', { IdentityPoolName: '', DeveloperProviderName: 'bad provider!' }),
      "4 validation errors detected: Value '' at 'identityPoolName' failed to satisfy constraint: Member must have length greater than or equal to 1; " +
        "Value '' at 'identityPoolName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w\\s+=,.@-]+; " +
        "Value null at 'allowUnauthenticatedIdentities' failed to satisfy constraint: Member must not be null; " +
        "Value 'bad provider!' at 'developerProviderName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w._-]+",
    );
  });

  void it('reports integer ranges', () => {
    assert.equal(
      msg('ListIdentityPoolsInput', { MaxResults: 61 }),
      "1 validation error detected: Value '61' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 60",
    );
    assert.equal(
      msg('GetOpenIdTokenForDeveloperIdentityInput', {
        IdentityPoolId: 'us-east-1:1',
        Logins: { a: 'b' },
        TokenDuration: 0,
      }),
      "1 validation error detected: Value '0' at 'tokenDuration' failed to satisfy constraint: Member must have value greater than or equal to 1",
    );
  });

  void it('reports list and map sizes, list members and map keys and values', () => {
    assert.equal(
      msg('DeleteIdentitiesInput', { IdentityIdsToDelete: [] }),
      "1 validation error detected: Value '[]' at 'identityIdsToDelete' failed to satisfy constraint: Member must have length greater than or equal to 1",
    );
    assert.equal(
      msg('DeleteIdentitiesInput', { IdentityIdsToDelete: ['us-east-1:1', 'nope'] }),
      "1 validation error detected: Value '[us-east-1:1, nope]' at 'identityIdsToDelete' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy regular expression pattern: [\\w-]+:[0-9a-f-]+]",
    );
    const logins = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`p${i}`, 't']));
    assert.match(
      msg('GetIdInput', { IdentityPoolId: 'us-east-1:1', Logins: logins }),
      /^1 validation error detected: Value '\{p0=t, .*p10=t\}' at 'logins' failed to satisfy constraint: Member must have length less than or equal to 10$/,
    );
    assert.equal(
      msg('SetIdentityPoolRolesInput', {
        IdentityPoolId: 'us-east-1:1',
        Roles: { admin: 'arn:aws:iam::123456789012:role/x' },
      }),
      "1 validation error detected: Value '{admin=arn:aws:iam::123456789012:role/x}' at 'roles' failed to satisfy constraint: Map keys must satisfy constraint: [Member must satisfy regular expression pattern: (un)?authenticated]",
    );
    assert.equal(
      msg('GetIdInput', { IdentityPoolId: 'us-east-1:1', Logins: { a: '' } }),
      "1 validation error detected: Value '{a=}' at 'logins' failed to satisfy constraint: Map value must satisfy constraint: [Member must have length greater than or equal to 1]",
    );
  });

  void it('reports enums and nested members with their full path', () => {
    assert.equal(
      msg('SetIdentityPoolRolesInput', {
        IdentityPoolId: 'us-east-1:1',
        Roles: {},
        RoleMappings: {
          'graph.facebook.com': {
            Type: 'Magic',
            RulesConfiguration: { Rules: [{ Claim: 'c', MatchType: 'Equals', Value: 'v' }] },
          },
        },
      }),
      "2 validation errors detected: Value 'Magic' at 'roleMappings.graph.facebook.com.member.type' failed to satisfy constraint: Member must satisfy enum value set: [Token, Rules]; " +
        "Value null at 'roleMappings.graph.facebook.com.member.rulesConfiguration.rules.1.member.roleARN' failed to satisfy constraint: Member must not be null",
    );
  });

  void it('accepts valid input', () => {
    assert.deepEqual(
      v.validate('GetOpenIdTokenForDeveloperIdentityInput', {
        IdentityPoolId: 'us-east-1:0a-1',
        Logins: { 'login.app': 'u' },
        TokenDuration: 86400,
      }),
      [],
    );
  });

  void it('throws SerializationError on a wrong JSON type', () => {
    assert.throws(() => v.validate('ListIdentityPoolsInput', { MaxResults: '5' }), SerializationError);
    assert.throws(() => v.validate('GetIdInput', { IdentityPoolId: 5 }), SerializationError);
    assert.throws(() => v.validate('GetIdInput', { IdentityPoolId: 'a:1', Logins: ['x'] }), SerializationError);
  });
});

void describe('emulator service model', () => {
  void it('holds the 23 operations, with exactly the four public ones unsigned', () => {
    assert.equal(Object.keys(MODEL.operations).length, 23);
    const publicOps = Object.entries(MODEL.operations)
      .filter(([, op]) => op.public)
      .map(([name]) => name)
      .sort();
    assert.deepEqual(publicOps, ['GetCredentialsForIdentity', 'GetId', 'GetOpenIdToken', 'UnlinkIdentity']);
    assert.equal(MODEL.targetPrefix, 'AWSCognitoIdentityService');
    for (const op of Object.values(MODEL.operations)) {
      if (op.input !== null) assert.ok(MODEL.shapes[op.input], op.input);
    }
  });
});

void describe('emulator validation of sensitive members', () => {
  void it('never shows a sensitive value (the STS web identity token) in the message', () => {
    const sts = new Validator(STS_MODEL);
    const token = `eyJ${'a'.repeat(20_000)}`;
    const out = sts.validate('AssumeRoleWithWebIdentityRequest', {
      RoleArn: 'arn:aws:iam::123456789012:role/Auth',
      RoleSessionName: 'ok',
      WebIdentityToken: token,
    });
    assert.deepEqual(out, [
      "Value '***SensitiveInformation***' at 'webIdentityToken' failed to satisfy constraint: Member must have length less than or equal to 20000",
    ]);
  });
});
