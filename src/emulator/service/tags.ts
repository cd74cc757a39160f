import type {
  ListTagsForResourceInput,
  ListTagsForResourceResponse,
  TagResourceInput,
  TagResourceResponse,
  UntagResourceInput,
  UntagResourceResponse,
} from '../model/shapes.js';
import { ServiceError } from '../service-error.js';
import { str, strMap, type Pool, type ServiceState } from './state.js';

/** Most tags on one pool. */
const MAX_TAGS = 50;

/** The characters AWS documents for tag keys and values: letters, numbers, spaces and `_ . : / = + - @`. */
const TAG_TEXT = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

/**
 * InvalidParameterException for more than 50 tags, an `aws:` key, or a key or value with a
 * character outside the documented set.
 */
export function checkTags(tags: Record<string, string>): void {
  if (Object.keys(tags).length > MAX_TAGS) {
    throw new ServiceError('InvalidParameterException', `An identity pool can have at most ${MAX_TAGS} tags.`);
  }
  for (const [k, v] of Object.entries(tags)) {
    if (k.toLowerCase().startsWith('aws:')) {
      throw new ServiceError('InvalidParameterException', "Tag keys must not start with 'aws:'.");
    }
    if (!TAG_TEXT.test(k) || (typeof v === 'string' && !TAG_TEXT.test(v))) {
      throw new ServiceError(
        'InvalidParameterException',
        'Tag keys and values may contain only letters, numbers, spaces and the characters _ . : / = + - @.',
      );
    }
  }
}

function poolByArn(state: ServiceState, arn: string): Pool {
  const s = str(arn) ?? '';
  const prefix = state.poolArnPrefix();
  const pool = s.startsWith(prefix) ? state.pools.get(s.slice(prefix.length)) : undefined;
  if (pool === undefined) throw new ServiceError('ResourceNotFoundException', `Resource '${s}' not found.`);
  return pool;
}

/** TagResource: adds or replaces tags. */
export function tagResource(state: ServiceState, input: TagResourceInput): TagResourceResponse {
  const pool = poolByArn(state, input.ResourceArn);
  const tags = { ...pool.tags, ...strMap(input.Tags) };
  checkTags(tags);
  pool.tags = tags;
  state.changed({ pools: [pool.id] });
  return {};
}

/** UntagResource. */
export function untagResource(state: ServiceState, input: UntagResourceInput): UntagResourceResponse {
  const pool = poolByArn(state, input.ResourceArn);
  const remove = new Set(input.TagKeys);
  pool.tags = Object.fromEntries(Object.entries(pool.tags).filter(([k]) => !remove.has(k)));
  state.changed({ pools: [pool.id] });
  return {};
}

/** ListTagsForResource. */
export function listTagsForResource(state: ServiceState, input: ListTagsForResourceInput): ListTagsForResourceResponse {
  return { Tags: poolByArn(state, input.ResourceArn).tags };
}
