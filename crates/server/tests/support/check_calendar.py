"""Parses a CareNest calendar feed with the icalendar library and prints what it found as JSON.

Usage: check_calendar.py FILE. Exits non-zero when the feed does not parse.
"""
import json
import sys

import icalendar

raw = open(sys.argv[1], "rb").read()
calendar = icalendar.Calendar.from_ical(raw)
events = []
for event in calendar.walk("VEVENT"):
    start = event.decoded("DTSTART")
    end = event.decoded("DTEND")
    events.append({
        "uid": str(event.get("UID")),
        "sequence": int(event.get("SEQUENCE", 0)),
        "summary": str(event.get("SUMMARY")),
        "description": str(event.get("DESCRIPTION")),
        "status": str(event.get("STATUS")),
        "start": start.isoformat(),
        "end": end.isoformat(),
        "tz": str(start.tzinfo),
        "utc_offset_seconds": start.utcoffset().total_seconds(),
    })
print(json.dumps({
    "timezones": [str(tz.get("TZID")) for tz in calendar.walk("VTIMEZONE")],
    "events": events,
}))
