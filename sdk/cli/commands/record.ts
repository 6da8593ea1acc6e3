/**
 * `medledger record put|get|history|verify|erase`: sealed records, each a thin layer over
 * sdk/records. Envelopes go to the --storage blob store; data keys to the keyholder network the
 * deployment lists. A read logs the access on chain before any key is released.
 *
 * @internal
 */
import { readFile, writeFile } from "node:fs/promises";

import type { Command } from "commander";

import { Category, Label, Purpose } from "../../codes.js";
import type { CategoryName, LabelName, PurposeName } from "../../codes.js";
import * as records from "../../records/index.js";
import type { RecordId, SubjectId } from "../../types.js";
import { UsageError } from "../errors.js";
import { ExitCode } from "../io.js";
import type { CliIo } from "../io.js";
import { CONNECTION_HELP, connectionOptions, flagsOf, print, withConnection } from "../connect.js";
import { bytes32, nameOf, namesOf } from "../parse.js";

interface RefFlags {
  subject?: string;
  record?: string;
}

function ref(f: RefFlags): { subject: SubjectId; recordId: RecordId } {
  if (f.subject === undefined) throw new UsageError("--subject <id> is required", "the patient's subject id");
  if (f.record === undefined) throw new UsageError("--record <id> is required", "the record id `record put` printed");
  return { subject: f.subject as SubjectId, recordId: f.record as RecordId };
}

const refOptions = (cmd: Command): Command =>
  cmd.option("--subject <id>", "the patient's subject id", bytes32).option("--record <id>", "the record id", bytes32);

const categoryName = (code: number): string =>
  (Object.keys(Category) as CategoryName[]).find((k) => Category[k] === code) ?? `CATEGORY_${code}`;

export function registerRecord(program: Command, io: CliIo): void {
  const group = connectionOptions(
    program
      .command("record")
      .summary("sealed records: put, get, history, verify, erase")
      .description(
        "Writes and reads sealed records: the envelope goes to --storage, the anchor on chain, the data key to the keyholders. Reading logs the access on chain first.",
      ),
    io,
  ).addHelpText(
    "after",
    `${CONNECTION_HELP}

Examples:
  medledger record put --subject 0x… --category NOTES --media-type text/plain --file note.txt --keystore doctor.json
  medledger record put --subject 0x… --category OBSERVATIONS --labels MENTAL_HEALTH --media-type application/fhir+json --file obs.json
  medledger record get --subject 0x… --record 0x… --purpose TREAT --out note.txt --keystore doctor.json
  medledger record history --subject 0x… --record 0x… --json
  medledger record verify --subject 0x… --record 0x…
  medledger record erase --subject 0x… --record 0x… --keystore patient.json`,
  );

  group
    .command("put")
    .description("seal a file as a record of a patient and anchor it; prints the record id")
    .option("--subject <id>", "the patient's subject id", bytes32)
    .option(
      "--category <name>",
      `its public category (${Object.keys(Category).join(", ")})`,
      nameOf(Category, "category"),
    )
    .option("--labels <list>", `sealed sensitive labels (${Object.keys(Label).join(", ")})`, namesOf(Label, "label"))
    .option("--media-type <type>", "the content's media type, e.g. text/plain, application/fhir+json")
    .option("--file <file>", "the content")
    .option("--previous <id>", "the version this one supersedes", bytes32)
    .addHelpText(
      "after",
      "\nExample:\n  medledger record put --subject 0x… --category NOTES --media-type text/plain --file note.txt --json",
    )
    .action(async (_o: unknown, cmd: Command) => {
      const f = flagsOf<{
        subject?: string;
        category?: CategoryName;
        labels?: LabelName[];
        mediaType?: string;
        file?: string;
        previous?: string;
      }>(cmd);
      if (f.subject === undefined) throw new UsageError("--subject <id> is required");
      if (f.category === undefined)
        throw new UsageError("--category <name> is required", Object.keys(Category).join(", "));
      if (f.mediaType === undefined) throw new UsageError("--media-type <type> is required", "e.g. text/plain");
      if (f.file === undefined) throw new UsageError("--file <file> is required", "the content to seal");
      let content: Uint8Array;
      try {
        content = new Uint8Array(await readFile(f.file));
      } catch {
        throw new UsageError(`cannot read ${f.file}`);
      }
      const subject = f.subject as SubjectId;
      const recordId = await withConnection(f, io, ({ ctx }) =>
        records.put(ctx, {
          subject,
          content,
          category: f.category!,
          mediaType: f.mediaType!,
          ...(f.labels === undefined ? {} : { labels: f.labels }),
          ...(f.previous === undefined ? {} : { previous: f.previous as RecordId }),
        }),
      );
      print(
        io,
        f.json,
        { subject, recordId, category: f.category, bytes: content.length },
        () => `Stored record ${recordId} (${f.category}, ${content.length} bytes)\n`,
      );
    });

  refOptions(group.command("get"))
    .description("read a record: logs the access on chain, then the keyholders release its key")
    .option("--purpose <name>", `why you read (${Object.keys(Purpose).join(", ")})`, nameOf(Purpose, "purpose"))
    .option("--emergency <reason>", "break-glass read as an emergency responder (reason code; purpose ETREAT or BTG)")
    .option("--out <file>", "write the content here (default: standard output)")
    .addHelpText(
      "after",
      "\nExamples:\n  medledger record get --subject 0x… --record 0x… --purpose TREAT --out note.txt\n  medledger record get --subject 0x… --record 0x… --purpose ETREAT --emergency 1 --json",
    )
    .action(async (_o: unknown, cmd: Command) => {
      const f = flagsOf<RefFlags & { purpose?: PurposeName; emergency?: string; out?: string }>(cmd);
      const r = ref(f);
      if (f.purpose === undefined)
        throw new UsageError("--purpose <name> is required", Object.keys(Purpose).join(", "));
      if (f.emergency !== undefined && !/^\d+$/.test(f.emergency))
        throw new UsageError("--emergency <reason> must be a whole number (the reason code)");
      const got = await withConnection(f, io, ({ ctx }) =>
        records.get(ctx, {
          ...r,
          purpose: f.purpose!,
          ...(f.emergency === undefined ? {} : { emergency: { reasonCode: Number(f.emergency) } }),
        }),
      );
      if (f.out !== undefined) await writeFile(f.out, got.content);
      const meta = {
        recordId: got.recordId,
        subject: got.subject,
        category: got.category,
        mediaType: got.mediaType,
        bytes: got.content.length,
        accessTx: got.accessTx,
        ...(f.out === undefined ? { contentBase64: Buffer.from(got.content).toString("base64") } : { out: f.out }),
      };
      if (f.json === true) print(io, true, meta, () => "");
      else if (f.out === undefined) io.out(new TextDecoder().decode(got.content));
      else
        io.err(`wrote ${got.content.length} bytes (${got.mediaType}) to ${f.out}; access logged in ${got.accessTx}\n`);
    });

  refOptions(group.command("history"))
    .description("every version of a record, oldest first")
    .addHelpText("after", "\nExample:\n  medledger record history --subject 0x… --record 0x… --json")
    .action(async (_o: unknown, cmd: Command) => {
      const f = flagsOf<RefFlags>(cmd);
      const r = ref(f);
      const versions = await withConnection(f, io, ({ ctx }) => records.history(ctx, r), { readOnly: true });
      print(io, f.json, { ...r, versions }, () =>
        versions
          .map(
            (v) =>
              `${v.recordId} ${categoryName(v.category)} custodian ${v.custodian} anchored ${new Date(v.anchoredAt * 1000).toISOString()}${v.erased ? " ERASED" : ""}${v.superseded ? " (superseded)" : ""}\n`,
          )
          .join(""),
      );
    });

  refOptions(group.command("verify"))
    .description("check the stored envelope against the digest anchored on chain (exit 1 if it differs)")
    .addHelpText("after", "\nExample:\n  medledger record verify --subject 0x… --record 0x…")
    .action(async (_o: unknown, cmd: Command) => {
      const f = flagsOf<RefFlags>(cmd);
      const r = ref(f);
      const v = await withConnection(f, io, ({ ctx }) => records.verify(ctx, r), { readOnly: true });
      print(io, f.json, v, () =>
        v.intact
          ? `intact: ${v.recordId} matches its anchored digest ${v.digest}\n`
          : `NOT INTACT: ${v.recordId} anchored ${v.digest}, stored ${v.stored ?? "(missing)"}${v.erased ? " (erased)" : ""}\n`,
      );
      if (!v.intact) io.setExitCode?.(ExitCode.FAILED);
    });

  refOptions(group.command("erase"))
    .description("erase a record version: tombstone on chain, key shares destroyed, envelope deleted")
    .addHelpText("after", "\nExample:\n  medledger record erase --subject 0x… --record 0x… --keystore patient.json")
    .action(async (_o: unknown, cmd: Command) => {
      const f = flagsOf<RefFlags>(cmd);
      const r = ref(f);
      const w = await withConnection(f, io, ({ ctx }) => records.erase(ctx, r));
      print(
        io,
        f.json,
        { ...r, transaction: w.receipt?.hash ?? null },
        () => `Erased ${r.recordId}${w.receipt === null ? " (the tombstone was there; shredding finished)" : ""}\n`,
      );
    });
}
