/**
 * A small, strict YAML reader for the files this repository writes (compose files, workflows): block
 * mappings and sequences, plain and quoted scalars, flow sequences of scalars, literal (`|`) and folded
 * (`>`) block scalars, comments. Anything else (anchors, aliases, tags, flow mappings, multi-line plain
 * scalars, several documents) is an error naming the line, never a guess: the tests that read these files
 * must not pass on a misreading. No YAML package is a dependency of the suite, hence this file.
 */

export type YamlValue = string | number | boolean | null | YamlValue[] | { [key: string]: YamlValue };

export class YamlError extends Error {
  constructor(message: string, line: number) {
    super(`line ${line}: ${message}`);
    this.name = 'YamlError';
  }
}

interface Line {
  /** 1-based, for messages. */
  no: number;
  indent: number;
  /** The line without its indentation and without a trailing comment. */
  text: string;
  /** The line as written (block scalars keep everything). */
  raw: string;
}

export function parseYaml(source: string): YamlValue {
  const rawLines = source.replace(/\r\n?/g, '\n').split('\n');
  const lines: Line[] = [];
  let started = false;
  for (const [index, raw] of rawLines.entries()) {
    const no = index + 1;
    if (raw.includes('\t') && /^\s*\t/.test(raw)) throw new YamlError('tabs are not allowed in indentation', no);
    const indent = raw.length - raw.trimStart().length;
    const text = stripComment(raw.trim());
    if (text === '---') {
      if (started) throw new YamlError('only one document is supported', no);
      started = true;
      continue;
    }
    if (text === '...') throw new YamlError('document end markers are not supported', no);
    if (text.length > 0) started = true;
    lines.push({ no, indent, text, raw });
  }
  const reader = new Reader(lines);
  reader.skipBlank();
  if (reader.done()) return null;
  const first = reader.peek();
  const value = reader.node(first.indent);
  reader.skipBlank();
  if (!reader.done()) throw new YamlError('unexpected content (wrong indentation?)', reader.peek().no);
  return value;
}

class Reader {
  private index = 0;

  constructor(private readonly lines: Line[]) {}

  done(): boolean {
    return this.index >= this.lines.length;
  }

  peek(): Line {
    const line = this.lines[this.index];
    if (!line) throw new Error('read past the end');
    return line;
  }

  skipBlank(): void {
    while (!this.done() && this.peek().text === '') this.index++;
  }

  /** The node starting at the next non-blank line, which is indented exactly `indent`. */
  node(indent: number): YamlValue {
    this.skipBlank();
    const line = this.peek();
    if (line.indent !== indent) throw new YamlError(`expected indentation ${indent}, got ${line.indent}`, line.no);
    if (isSequenceItem(line.text)) return this.sequence(indent);
    if (splitKey(line.text, line.no)) return this.mapping(indent);
    this.index++;
    const next = this.nextNonBlank();
    if (next && next.indent > indent) throw new YamlError('multi-line plain scalars are not supported', next.no);
    return scalar(line.text, line.no);
  }

  private nextNonBlank(): Line | undefined {
    for (let i = this.index; i < this.lines.length; i++) {
      const line = this.lines[i];
      if (line && line.text !== '') return line;
    }
    return undefined;
  }

  private sequence(indent: number): YamlValue[] {
    const items: YamlValue[] = [];
    for (;;) {
      this.skipBlank();
      if (this.done()) break;
      const line = this.peek();
      if (line.indent < indent) break;
      if (line.indent > indent) throw new YamlError('unexpected indentation in a sequence', line.no);
      if (!isSequenceItem(line.text)) break;
      const rest = line.text === '-' ? '' : line.text.slice(2);
      const restIndent = indent + (line.text.length - rest.length);
      if (rest.trim() === '') {
        this.index++;
        const next = this.nextNonBlank();
        if (!next || next.indent <= indent) items.push(null);
        else items.push(this.node(next.indent));
        continue;
      }
      // `- key: value` starts a mapping whose keys are aligned with `key`.
      if (isSequenceItem(rest) || splitKey(rest, line.no)) {
        this.lines[this.index] = { ...line, indent: restIndent, text: rest };
        items.push(this.node(restIndent));
        continue;
      }
      this.index++;
      items.push(this.inlineValue(rest, line, indent));
    }
    return items;
  }

  private mapping(indent: number): { [key: string]: YamlValue } {
    const result: { [key: string]: YamlValue } = {};
    for (;;) {
      this.skipBlank();
      if (this.done()) break;
      const line = this.peek();
      if (line.indent < indent) break;
      if (line.indent > indent) throw new YamlError('unexpected indentation in a mapping', line.no);
      if (isSequenceItem(line.text)) break;
      const pair = splitKey(line.text, line.no);
      if (!pair) throw new YamlError(`expected "key: value", got "${line.text}"`, line.no);
      const [key, rest] = pair;
      if (Object.hasOwn(result, key)) throw new YamlError(`duplicate key "${key}"`, line.no);
      this.index++;
      if (rest === '') {
        const next = this.nextNonBlank();
        if (next && next.indent > indent) result[key] = this.node(next.indent);
        else if (next && next.indent === indent && isSequenceItem(next.text)) result[key] = this.sequence(indent);
        else result[key] = null;
        continue;
      }
      result[key] = this.inlineValue(rest, line, indent);
    }
    return result;
  }

  /** A value written after `key:` or `- `: a scalar, a flow sequence or a block scalar header. */
  private inlineValue(text: string, line: Line, parentIndent: number): YamlValue {
    if (/^[|>][+-]?$/.test(text)) return this.blockScalar(text, parentIndent);
    if (text.startsWith('&') || text.startsWith('*'))
      throw new YamlError('anchors and aliases are not supported', line.no);
    if (text.startsWith('!')) throw new YamlError('tags are not supported', line.no);
    if (text.startsWith('{')) {
      if (text === '{}') return {};
      throw new YamlError('flow mappings are not supported', line.no);
    }
    if (text.startsWith('[')) return flowSequence(text, line.no);
    const next = this.nextNonBlank();
    if (next && next.indent > parentIndent && !isSequenceItem(next.text) && !splitKey(next.text, next.no)) {
      throw new YamlError('multi-line plain scalars are not supported', next.no);
    }
    return scalar(text, line.no);
  }

  private blockScalar(header: string, parentIndent: number): string {
    const folded = header.startsWith('>');
    const chomp = header.endsWith('-') ? 'strip' : header.endsWith('+') ? 'keep' : 'clip';
    const body: string[] = [];
    let contentIndent: number | null = null;
    while (!this.done()) {
      const line = this.peek();
      const blank = line.raw.trim() === '';
      if (!blank && line.indent <= parentIndent) break;
      if (!blank && contentIndent === null) contentIndent = line.indent;
      if (!blank && contentIndent !== null && line.indent < contentIndent) {
        throw new YamlError('a block scalar line is less indented than its first line', line.no);
      }
      body.push(blank ? '' : line.raw.slice(contentIndent ?? 0));
      this.index++;
    }
    let trailing = 0;
    while (body.length > 0 && body[body.length - 1] === '') {
      body.pop();
      trailing++;
    }
    let text = folded ? fold(body) : body.join('\n');
    if (body.length === 0) return '';
    if (chomp === 'clip') text += '\n';
    if (chomp === 'keep') text += '\n'.repeat(trailing + 1);
    return text;
  }
}

function fold(lines: string[]): string {
  let out = '';
  for (const [i, line] of lines.entries()) {
    if (i === 0) out = line;
    else if (line === '') out += '\n';
    else if (lines[i - 1] === '') out += line;
    else out += ` ${line}`;
  }
  return out;
}

function isSequenceItem(text: string): boolean {
  return text === '-' || text.startsWith('- ');
}

/** `key: rest` → [key, rest]; null when the text is not a mapping entry. */
function splitKey(text: string, no: number): [string, string] | null {
  if (text.startsWith('"') || text.startsWith("'")) {
    const end = quotedEnd(text);
    if (end < 0) return null;
    const after = text.slice(end + 1);
    const match = /^\s*:(?:\s+(.*)|)$/.exec(after);
    if (!match) return null;
    return [unquote(text.slice(0, end + 1), no), (match[1] ?? '').trim()];
  }
  if (/^[[{&*!|>%@`?]/.test(text) || isSequenceItem(text)) return null;
  const match = /^([^:]*?(?::(?!\s|$)[^:]*?)*?)\s*:(?:\s+(.*)|)$/.exec(text);
  if (!match || match[1] === undefined || match[1] === '') return null;
  return [match[1], (match[2] ?? '').trim()];
}

/** Index of the closing quote of a quoted scalar starting at 0, or -1. */
function quotedEnd(text: string): number {
  const quote = text[0];
  for (let i = 1; i < text.length; i++) {
    const c = text[i];
    if (quote === '"' && c === '\\') {
      i++;
      continue;
    }
    if (c === quote) {
      if (quote === "'" && text[i + 1] === "'") {
        i++;
        continue;
      }
      return i;
    }
  }
  return -1;
}

function stripComment(text: string): string {
  if (text.startsWith('#')) return '';
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (quote === '"' && c === '\\') i++;
      else if (c === quote) quote = null;
      continue;
    }
    // A quote opens a quoted scalar only where a scalar may start.
    if ((c === '"' || c === "'") && (i === 0 || /[\s:[,-]/.test(text[i - 1] ?? ''))) quote = c;
    else if (c === '#' && /\s/.test(text[i - 1] ?? '')) return text.slice(0, i).trimEnd();
  }
  return text;
}

function unquote(text: string, no: number): string {
  if (text.startsWith("'")) {
    if (!text.endsWith("'") || text.length < 2) throw new YamlError('unterminated single-quoted scalar', no);
    return text.slice(1, -1).replace(/''/g, "'");
  }
  if (!text.endsWith('"') || text.length < 2) throw new YamlError('unterminated double-quoted scalar', no);
  const escapes: Record<string, string> = { n: '\n', t: '\t', r: '\r', '"': '"', '\\': '\\', '/': '/', '0': '\0' };
  return text.slice(1, -1).replace(/\\(.)/g, (_all, c: string) => {
    const replacement = escapes[c];
    if (replacement === undefined) throw new YamlError(`unsupported escape \\${c}`, no);
    return replacement;
  });
}

/** YAML 1.2 core schema for plain scalars; quoted scalars are always strings. */
function scalar(text: string, no: number): YamlValue {
  if (text.startsWith('"') || text.startsWith("'")) {
    const end = quotedEnd(text);
    if (end < 0) throw new YamlError('unterminated quoted scalar', no);
    if (end !== text.length - 1) throw new YamlError('text after a quoted scalar', no);
    return unquote(text, no);
  }
  if (/^[&*!%@`]/.test(text)) throw new YamlError(`unsupported construct "${text}"`, no);
  if (/^(true|True|TRUE)$/.test(text)) return true;
  if (/^(false|False|FALSE)$/.test(text)) return false;
  if (/^(null|Null|NULL|~)$/.test(text)) return null;
  if (/^[-+]?[0-9]+$/.test(text)) return Number(text);
  if (/^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/.test(text)) return Number(text);
  return text;
}

function flowSequence(text: string, no: number): YamlValue[] {
  if (!text.endsWith(']')) throw new YamlError('a flow sequence must end on its line', no);
  const inner = text.slice(1, -1).trim();
  if (inner === '') return [];
  const items: string[] = [];
  let current = '';
  let quote: string | null = null;
  for (let i = 0; i < inner.length; i++) {
    const c = inner[i] ?? '';
    if (quote) {
      current += c;
      if (quote === '"' && c === '\\') {
        current += inner[i + 1] ?? '';
        i++;
      } else if (c === quote) quote = null;
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    if (c === '[' || c === '{') throw new YamlError('nested flow collections are not supported', no);
    if (c === ',') {
      items.push(current.trim());
      current = '';
      continue;
    }
    current += c;
  }
  if (quote) throw new YamlError('unterminated quoted scalar in a flow sequence', no);
  if (current.trim() !== '') items.push(current.trim());
  return items.map((item) => scalar(item, no));
}
