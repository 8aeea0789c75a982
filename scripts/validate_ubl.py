"""Validates the portal's UBL against the official artefacts: the UBL 2.1 schema, the CEN EN16931 UBL
rules and the PEPPOL-EN16931-UBL rules (Schematron, compiled with SchXslt). docs/ubl.md says how to
get the artefacts and a Python with lxml and saxonche (kept out of the project's .venv).

    /tmp/ubl-venv/bin/python scripts/validate_ubl.py ARTEFACTS [FILE.xml ...]

Without files it generates a sample for every destination country, document type and tax code
(tests/invoicing/ubl_helpers.py) through Django on a scratch SQLite database, running the project's
.venv in a subprocess (`--generate DIR`). Prints each failed rule per sample, then the errors and
warnings per rule id; exits 1 when there is an error.

ARTEFACTS holds:
    ubl21/xsd/maindoc/UBL-Invoice-2.1.xsd, UBL-CreditNote-2.1.xsd (and xsd/common)
    peppol/rules/sch/CEN-EN16931-UBL.sch, PEPPOL-EN16931-UBL.sch
    schxslt/core/src/main/resources/xslt/2.0/pipeline-for-svrl.xsl
"""

import argparse
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
SVRL = "{http://purl.oclc.org/dsdl/svrl}"
SCHEMATRONS = ("peppol/rules/sch/CEN-EN16931-UBL.sch", "peppol/rules/sch/PEPPOL-EN16931-UBL.sch")
SCHEMAS = {
    "Invoice": "ubl21/xsd/maindoc/UBL-Invoice-2.1.xsd",
    "CreditNote": "ubl21/xsd/maindoc/UBL-CreditNote-2.1.xsd",
}
SCHXSLT = "schxslt/core/src/main/resources/xslt/2.0/pipeline-for-svrl.xsl"


# --- Samples (run with the project's .venv) ------------------------------------------------------


def generate(out: Path) -> None:
    scratch = Path(tempfile.mkdtemp(prefix="ubl-samples-"))
    os.environ["VAR_DIR"] = str(scratch)
    os.environ["DATABASE_URL"] = f"sqlite:///{scratch / 'samples.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    sys.path.insert(0, str(PROJECT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from invoicing.ubl import invoice_ubl, ubl_filename
    from tests.factories import make_administration, make_office, make_user
    from tests.invoicing import ubl_helpers

    office = make_office("Fiduciaire Dupont")
    administration = make_administration(office, "Bakkerij Janssens BV")
    author = make_user(office, administrations=[administration])
    out.mkdir(parents=True, exist_ok=True)
    for case in ubl_helpers.sample_cases():
        invoice = ubl_helpers.make_sample(administration, author, *case)
        pdf = ubl_helpers.pdf_with_text(f"Total {invoice.invoice_number}")
        (out / f"{ubl_helpers.case_id(case)}_{ubl_filename(invoice)}").write_bytes(invoice_ubl(invoice, pdf=pdf))
    for name, fields in ubl_helpers.EXTRA_SAMPLES.items():
        fields = dict(fields)
        invoice = ubl_helpers.make_sample(administration, author, *fields.pop("case"), **fields)
        pdf = ubl_helpers.pdf_with_text(f"Total {invoice.invoice_number}")
        (out / f"{name}_{ubl_filename(invoice)}").write_bytes(invoice_ubl(invoice, pdf=pdf))


# --- Validation (run with lxml and saxonche) ------------------------------------------------------


def compile_schematrons(processor, artefacts: Path, work: Path) -> list:
    xslt = processor.new_xslt30_processor()
    pipeline = xslt.compile_stylesheet(stylesheet_file=str(artefacts / SCHXSLT))
    compiled = []
    for schematron in SCHEMATRONS:
        target = work / (Path(schematron).stem + ".xsl")
        target.write_text(pipeline.transform_to_string(source_file=str(artefacts / schematron)))
        compiled.append((Path(schematron).stem, xslt.compile_stylesheet(stylesheet_file=str(target))))
    return compiled


def schema_errors(etree, schemas: dict, path: Path) -> list[tuple[str, str, str]]:
    document = etree.parse(str(path))
    root = etree.QName(document.getroot()).localname
    schema = schemas[root]
    if schema.validate(document):
        return []
    return [("fatal", "UBL-2.1-XSD", f"line {error.line}: {error.message}") for error in schema.error_log]


def schematron_failures(etree, stylesheet, path: Path) -> list[tuple[str, str, str]]:
    svrl = etree.fromstring(stylesheet.transform_to_string(source_file=str(path)).encode())
    return [
        (failed.get("flag") or "fatal", failed.get("id"), " ".join(failed.findtext(f"{SVRL}text", "").split()))
        for failed in svrl.iter(f"{SVRL}failed-assert", f"{SVRL}successful-report")
    ]


def validate(artefacts: Path, files: list[Path]) -> int:
    from lxml import etree
    from saxonche import PySaxonProcessor

    schemas = {root: etree.XMLSchema(etree.parse(str(artefacts / xsd))) for root, xsd in SCHEMAS.items()}
    errors, warnings = Counter(), Counter()
    with PySaxonProcessor(license=False) as processor, tempfile.TemporaryDirectory() as work:
        stylesheets = compile_schematrons(processor, artefacts, Path(work))
        for path in files:
            failures = schema_errors(etree, schemas, path)
            for _name, stylesheet in stylesheets:
                failures += schematron_failures(etree, stylesheet, path)
            for flag, rule, message in failures:
                (warnings if flag == "warning" else errors)[rule] += 1
                print(f"{path.name}: {flag} {rule}: {message}")
    print(f"\n{len(files)} samples validated (UBL 2.1 XSD, {', '.join(name for name, _ in stylesheets)})")
    print(f"errors: {sum(errors.values())}", dict(sorted(errors.items())))
    print(f"warnings: {sum(warnings.values())}", dict(sorted(warnings.items())))
    return 1 if errors else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("artefacts", type=Path, nargs="?")
    parser.add_argument("files", type=Path, nargs="*")
    parser.add_argument("--generate", type=Path, metavar="DIR", help="only write the samples into DIR")
    parser.add_argument("--python", default=str(PROJECT / ".venv" / "bin" / "python"), help="the project's Python")
    arguments = parser.parse_args()
    if arguments.generate:
        generate(arguments.generate)
        return 0
    if arguments.artefacts is None:
        parser.error("give the artefacts folder")
    files = arguments.files
    if not files:
        samples = Path(tempfile.mkdtemp(prefix="ubl-"))
        subprocess.run([arguments.python, __file__, "--generate", str(samples)], check=True, cwd=PROJECT)  # noqa: S603
        files = sorted(samples.glob("*.xml"))
        print(f"samples in {samples}")
    return validate(arguments.artefacts, files)


if __name__ == "__main__":
    sys.exit(main())
