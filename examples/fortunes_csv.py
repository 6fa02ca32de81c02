"""Turn Debian's fortune files into a classification table: one row per quotation,
labelled with the file (the category) it comes from.

    apt-get install -y fortunes
    python examples/fortunes_csv.py fortunes.csv computers politics science songs-poems work men-women

Fortune files hold quotations separated by lines with a single "%"; the .dat files
beside them are indexes and are not read.
"""

import csv
import sys
from pathlib import Path

ROOT = Path("/usr/share/games/fortunes")


def main(out: str, *categories: str) -> int:
    if not categories:
        print("usage: fortunes_csv.py OUT.csv CATEGORY [CATEGORY ...]", file=sys.stderr)
        return 2
    rows = []
    for cat in categories:
        path = ROOT / cat
        if not path.is_file():
            print(f"error: {path} does not exist (apt-get install fortunes)", file=sys.stderr)
            return 2
        text = path.read_text(encoding="utf-8", errors="replace")
        for quote in text.split("\n%\n"):
            quote = quote.strip().strip("%").strip()
            if quote:
                rows.append((quote, cat))
    with open(out, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        w.writerows(rows)
    print(f"{len(rows)} quotations in {len(categories)} categories -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
