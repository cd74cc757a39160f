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

/** InvalidParameterException for more than 50 tags or an `aws:` key. */
export function checkTags(tags: Record<string, string>): void {
  if (Object.keys(tags).length > MAX_TAGS) {
    throw new ServiceError('InvalidParameterException', `An identity pool can have at most ${MAX_TAGS} tags.`);
  }
  for (const k of Object.keys(tags)) {
    if (k.toLowerCase().startsWith('aws:')) {
      throw new ServiceError('InvalidParameterException', "Tag keys must not start with 'aws:'.");
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
