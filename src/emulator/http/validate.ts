import { MODEL } from '../model/model.js';
import type { ModelShape, ServiceModel } from '../model/model-types.js';

/**
 * A request member whose JSON type does not fit the model (a number where a string belongs, …). The
 * real service answers these with `SerializationException` before any constraint is checked.
 */
export class SerializationError extends Error {
  override readonly name = 'SerializationError';
}

type Check = (value: unknown, path: string, out: string[]) => void;

/** Java's `toString()` rendering of a value, as the service prints it inside `Value '…'`. */
function render(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return `[${value.map(render).join(', ')}]`;
  if (typeof value === 'object') {
    return `{${Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => `${k}=${render(v)}`)
      .join(', ')}}`;
  }
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** How a sensitive value (a token, a secret) appears in a message: never itself. */
const REDACTED = "'***SensitiveInformation***'";

/** The most of a value a message shows (the emulator's figure: a 200 KB value is not echoed whole). */
const SHOWN_CHARS = 256;

function fail(value: unknown, path: string, constraint: string, sensitive = false): string {
  const full = value === null || value === undefined || sensitive ? '' : render(value);
  const cut = full.length > SHOWN_CHARS ? `${full.slice(0, SHOWN_CHARS)}...` : full;
  const shown = value === null || value === undefined ? 'null' : sensitive ? REDACTED : `'${cut}'`;
  return `Value ${shown} at '${path}' failed to satisfy constraint: ${constraint}`;
}

function lowerCamel(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

/** Service regexes are Java regexes matched against the whole value. */
function compilePattern(pattern: string): RegExp {
  // eslint-disable-next-line security/detect-non-literal-regexp -- patterns come from the committed service model
  return new RegExp(`^(?:${pattern})$`, 'u');
}

/**
 * Compiles and caches one checker per shape. Each checker pushes the service's message for every
 * violated constraint; the constraint order (max, min, pattern) is the one the service prints.
 */
export class Validator {
  readonly #model: ServiceModel;
  readonly #checks = new Map<string, Check>();
  /** Constraint texts of a scalar shape, for "Member must satisfy constraint: [...]" of list/map members. */
  readonly #scalar = new Map<string, (v: unknown) => string[]>();

  constructor(model: ServiceModel = MODEL) {
    this.#model = model;
  }

  /**
   * Validates `input` (the parsed JSON body) against the operation's input shape.
   * @returns the violation messages, in the service's order (empty when valid).
   * @throws SerializationError when a member has the wrong JSON type.
   */
  validate(shapeName: string, input: unknown): string[] {
    const out: string[] = [];
    this.#check(shapeName)(input, '', out);
    return out;
  }

  #shape(name: string): ModelShape {
    const s = this.#model.shapes[name];
    if (s === undefined) throw new Error(`unknown shape ${name}`);
    return s;
  }

  /** The constraint texts a scalar value violates. */
  #scalarCheck(name: string): (v: unknown) => string[] {
    let c = this.#scalar.get(name);
    if (c !== undefined) return c;
    const s = this.#shape(name);
    const { min, max } = s;
    const re = s.pattern === undefined ? undefined : compilePattern(s.pattern);
    const enumText = s.enum === undefined ? undefined : `Member must satisfy enum value set: [${s.enum.join(', ')}]`;
    const enumSet = s.enum === undefined ? undefined : new Set(s.enum);
    if (s.type === 'string') {
      c = (v) => {
        if (typeof v !== 'string') throw new SerializationError(`Expected a string for ${name}`);
        const r: string[] = [];
        // Lengths count UTF-16 code units in Java too.
        if (max !== undefined && v.length > max) r.push(`Member must have length less than or equal to ${max}`);
        if (min !== undefined && v.length < min) r.push(`Member must have length greater than or equal to ${min}`);
        if (re !== undefined && !re.test(v))
          r.push(`Member must satisfy regular expression pattern: ${s.pattern ?? ''}`);
        if (enumSet !== undefined && enumText !== undefined && !enumSet.has(v)) r.push(enumText);
        return r;
      };
    } else if (s.type === 'integer' || s.type === 'long') {
      c = (v) => {
        if (typeof v !== 'number' || !Number.isInteger(v))
          throw new SerializationError(`Expected an integer for ${name}`);
        const r: string[] = [];
        if (max !== undefined && v > max) r.push(`Member must have value less than or equal to ${max}`);
        if (min !== undefined && v < min) r.push(`Member must have value greater than or equal to ${min}`);
        return r;
      };
    } else if (s.type === 'boolean') {
      c = (v) => {
        if (typeof v !== 'boolean') throw new SerializationError(`Expected a boolean for ${name}`);
        return [];
      };
    } else {
      c = () => [];
    }
    this.#scalar.set(name, c);
    return c;
  }

  #check(name: string): Check {
    const cached = this.#checks.get(name);
    if (cached !== undefined) return cached;
    // Placeholder first, so recursive shapes terminate.
    let impl: Check = () => undefined;
    const wrapper: Check = (v, p, o) => {
      impl(v, p, o);
    };
    this.#checks.set(name, wrapper);
    impl = this.#build(name);
    return wrapper;
  }

  #build(name: string): Check {
    const s = this.#shape(name);
    const sizeChecks = (n: number, value: unknown, path: string, out: string[]): void => {
      if (s.max !== undefined && n > s.max)
        out.push(fail(value, path, `Member must have length less than or equal to ${s.max}`));
      if (s.min !== undefined && n < s.min)
        out.push(fail(value, path, `Member must have length greater than or equal to ${s.min}`));
    };
    switch (s.type) {
      case 'structure': {
        const members = Object.entries(s.members ?? {}).map(([m, shape]) => ({
          name: m,
          camel: lowerCamel(m),
          required: (s.required ?? []).includes(m),
          shape,
        }));
        return (value, path, out) => {
          if (value === undefined || value === null) return;
          if (typeof value !== 'object' || Array.isArray(value))
            throw new SerializationError(`Expected an object for ${name}`);
          const obj = value as Record<string, unknown>;
          for (const m of members) {
            const v = obj[m.name];
            const p = path === '' ? m.camel : `${path}.${m.camel}`;
            if (v === undefined || v === null) {
              if (m.required) out.push(fail(null, p, 'Member must not be null'));
              continue;
            }
            this.#check(m.shape)(v, p, out);
          }
        };
      }
      case 'list': {
        const memberShape = s.member ?? '';
        const member = this.#shape(memberShape);
        const scalarMember = member.type !== 'structure' && member.type !== 'list' && member.type !== 'map';
        return (value, path, out) => {
          if (!Array.isArray(value)) throw new SerializationError(`Expected a list for ${name}`);
          sizeChecks(value.length, value, path, out);
          if (scalarMember) {
            const sc = this.#scalarCheck(memberShape);
            for (const item of value) {
              if (item === null) continue;
              const r = sc(item);
              if (r.length > 0) {
                out.push(fail(value, path, `Member must satisfy constraint: [${r.join(', ')}]`));
                break;
              }
            }
          } else {
            const ch = this.#check(memberShape);
            value.forEach((item, i) => {
              ch(item, `${path}.${i + 1}.member`, out);
            });
          }
        };
      }
      case 'map': {
        const keyCheck = this.#scalarCheck(s.key ?? '');
        const valueShapeName = s.value ?? '';
        const valueShape = this.#shape(valueShapeName);
        const scalarValue = valueShape.type !== 'structure' && valueShape.type !== 'list' && valueShape.type !== 'map';
        return (value, path, out) => {
          if (typeof value !== 'object' || value === null || Array.isArray(value)) {
            throw new SerializationError(`Expected a map for ${name}`);
          }
          const entries = Object.entries(value as Record<string, unknown>);
          sizeChecks(entries.length, value, path, out);
          let keyMsg: string[] | undefined;
          let valueMsg: string[] | undefined;
          for (const [k, v] of entries) {
            if (keyMsg === undefined) {
              const r = keyCheck(k);
              if (r.length > 0) keyMsg = r;
            }
            if (v === null) continue;
            if (scalarValue) {
              if (valueMsg === undefined) {
                const r = this.#scalarCheck(valueShapeName)(v);
                if (r.length > 0) valueMsg = r;
              }
            } else {
              this.#check(valueShapeName)(v, `${path}.${k}.member`, out);
            }
          }
          if (keyMsg !== undefined)
            out.push(fail(value, path, `Map keys must satisfy constraint: [${keyMsg.join(', ')}]`));
          if (valueMsg !== undefined)
            out.push(fail(value, path, `Map value must satisfy constraint: [${valueMsg.join(', ')}]`));
        };
      }
      default: {
        const sc = this.#scalarCheck(name);
        const sensitive = s.sensitive === true;
        return (value, path, out) => {
          for (const c of sc(value)) out.push(fail(value, path, c, sensitive));
        };
      }
    }
  }
}

/**
 * The service's ValidationException message for a list of violations:
 * `1 validation error detected: …` or `N validation errors detected: …; …`.
 */
export function validationMessage(errors: readonly string[]): string {
  const n = errors.length;
  return `${n} validation error${n === 1 ? '' : 's'} detected: ${errors.join('; ')}`;
}
