import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { baseConfig } from './base.js';
import { env, fieldMeta } from './fields.js';
import { configJsonSchema } from './json-schema.js';

describe('configJsonSchema', () => {
  it('describes env vars with types, defaults, enums, secrets and the required ones', () => {
    const schema = configJsonSchema(
      {
        ...baseConfig,
        VENDOR_KEY: env.secret({ description: 'API key', aliases: ['OLD_KEY'] }),
        VENDOR_MAX_TLP: env.tlp('TLP:AMBER'),
        VENDOR_TYPES: env.list({ allowed: ['email', 'ip'] }),
        VENDOR_LIMIT: env.int({ default: 3 }),
        VENDOR_ON: env.boolean(true),
      },
      'vendor',
      'INTERNAL_ENRICHMENT',
    );
    expect(schema.$id).toBe('https://www.filigran.io/connectors/vendor_config.schema.json');
    expect(schema.required).toEqual(['OPENCTI_URL', 'OPENCTI_TOKEN', 'CONNECTOR_NAME', 'VENDOR_KEY']);
    expect(schema.properties.VENDOR_KEY).toEqual({
      description: 'API key. Also read from OLD_KEY.',
      format: 'password',
      writeOnly: true,
      type: 'string',
    });
    expect(schema.properties.OPENCTI_TOKEN?.writeOnly).toBe(true);
    expect(schema.properties.VENDOR_MAX_TLP).toMatchObject({
      default: 'amber',
      type: 'string',
      enum: ['clear', 'white', 'green', 'amber', 'amber+strict', 'red'],
    });
    expect(schema.properties.VENDOR_TYPES).toMatchObject({
      type: 'array',
      default: [],
      items: { type: 'string', enum: ['email', 'ip'] },
    });
    expect(schema.properties.VENDOR_LIMIT).toMatchObject({ type: 'integer', default: 3 });
    expect(schema.properties.VENDOR_ON).toMatchObject({ type: 'boolean', default: true });
    expect(schema.properties.CONNECTOR_QUEUE_PROTOCOL).toMatchObject({ enum: ['amqp', 'api'], default: 'amqp' });
  });

  it("follows upstream's conventions: no CONNECTOR_ID (the platform assigns it), CONNECTOR_TYPE a const", () => {
    const schema = configJsonSchema(baseConfig, 'vendor', 'EXTERNAL_IMPORT');
    expect(schema.properties.CONNECTOR_ID).toBeUndefined();
    expect(schema.required).not.toContain('CONNECTOR_ID');
    expect(schema.properties.CONNECTOR_TYPE).toEqual({
      const: 'EXTERNAL_IMPORT',
      default: 'EXTERNAL_IMPORT',
      type: 'string',
    });
    expect(schema.properties.CONNECTOR_LOG_LEVEL).toMatchObject({
      default: 'info',
      enum: ['debug', 'info', 'warn', 'warning', 'error'],
    });
  });

  it('uses only standard JSON Schema keywords (OpenCTI compiles it in strict mode)', () => {
    const schema = configJsonSchema(
      { ...baseConfig, VENDOR_KEY: env.secret({ aliases: ['OLD_KEY'] }) },
      'vendor',
      'INTERNAL_ENRICHMENT',
    );
    const keywords = new Set(Object.values(schema.properties).flatMap((p) => Object.keys(p)));
    const standard = ['const', 'default', 'description', 'enum', 'format', 'items', 'type', 'writeOnly'];
    expect([...keywords].filter((k) => !standard.includes(k))).toEqual([]);
    expect(schema.properties.VENDOR_KEY?.description).toBe('Also read from OLD_KEY.');
  });
});

describe('a TLP setting and the values its catalog schema lists', () => {
  const field = env.tlp('TLP:AMBER');
  const listed = configJsonSchema({ ...baseConfig, MAX_TLP: field }, 'vendor', 'INTERNAL_ENRICHMENT').properties.MAX_TLP
    ?.enum as string[];
  /** What the catalog value a raw setting stands for: blanks, case and the TLP: prefix do not matter. */
  const spelled = (raw: string) => raw.trim().toLowerCase().replace(/^tlp:/, '').trim();

  it('accepts every listed value and its default, which is listed', () => {
    for (const value of listed) expect(field.safeParse(value).success, value).toBe(true);
    expect(listed).toContain(fieldMeta(field).defaultValue);
    expect(field.parse('white')).toBe('TLP:CLEAR');
    expect(field.parse('amber+strict')).toBe('TLP:AMBER+STRICT');
  });

  it('accepts a value exactly when it is a listed one, whatever its case, blanks and TLP: prefix', () => {
    const variant = fc
      .tuple(
        fc.constantFrom(...listed),
        fc.constantFrom('', 'TLP:', 'tlp:', 'Tlp: '),
        fc.constantFrom('', ' ', '\t'),
        fc.boolean(),
      )
      .map(([v, prefix, pad, upper]) => `${pad}${prefix}${upper ? v.toUpperCase() : v}${pad}`);
    fc.assert(
      fc.property(
        fc.oneof(variant, fc.string(), fc.string({ unit: fc.constantFrom(...'TLP:amberstric+ ') })),
        (raw) => {
          expect(field.safeParse(raw).success).toBe(listed.includes(spelled(raw)));
        },
      ),
      { numRuns: 2000 },
    );
  });
});
