/** One shape of the compact service model (see `scripts/gen-model.mjs`). */
export interface ModelShape {
  /** `structure`, `list`, `map`, `string`, `integer`, `long`, `boolean`, `timestamp`, … */
  readonly type: string;
  readonly min?: number;
  readonly max?: number;
  readonly pattern?: string;
  readonly enum?: readonly string[];
  /** The value is a secret: validation messages never show it. */
  readonly sensitive?: boolean;
  /** Structure members: member name → shape name. */
  readonly members?: Readonly<Record<string, string>>;
  readonly required?: readonly string[];
  /** List member shape. */
  readonly member?: string;
  /** Map key and value shapes. */
  readonly key?: string;
  readonly value?: string;
}

/** One operation of the compact service model. */
export interface ModelOperation {
  /** Input shape name, or null when the operation takes no input. */
  readonly input: string | null;
  /** The modelled error names. */
  readonly errors: readonly string[];
  /** True for the unsigned public operations (`authtype: none`). */
  readonly public: boolean;
}

/** The compact service model. */
export interface ServiceModel {
  /** The `X-Amz-Target` prefix of AWS JSON services; empty for query-protocol services (STS). */
  readonly targetPrefix: string;
  readonly apiVersion: string;
  readonly operations: Readonly<Record<string, ModelOperation>>;
  readonly shapes: Readonly<Record<string, ModelShape>>;
}
