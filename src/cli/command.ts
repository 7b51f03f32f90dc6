// One place where a command's argument type comes from: its builder. Each `.option()`/`.positional()` call
// extends the yargs Argv type with that option's name and type (string, number, boolean, the return type of
// its `coerce`, the union of its `choices`; `| undefined` unless it is required or has a default), and the
// handler receives exactly that, with the camelCase names yargs adds. A hand-written interface beside the
// builder needed an `as unknown as Argv<…>` cast and could drift from the options it described.

import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';

/** What a builder gives the handler: its options' types, under both their kebab-case and camelCase names. */
export type ArgsOf<B extends (yargs: Argv) => Argv<unknown>> = ArgumentsCamelCase<
  B extends (yargs: Argv) => Argv<infer T> ? T : never
>;

/** A command whose handler's argument type is inferred from its builder's options. */
export function defineCommand<U>(command: {
  command: string;
  describe: string;
  builder: (yargs: Argv) => Argv<U>;
  handler: (args: ArgumentsCamelCase<U>) => void | Promise<void>;
}): CommandModule<object, U> {
  return command;
}

/** The arguments after `--` (with `parserConfiguration({ 'populate--': true })`), as strings. */
export function afterDoubleDash(args: { readonly [name: string]: unknown }): string[] {
  const rest = args['--'];
  return Array.isArray(rest) ? rest.map(String) : [];
}
