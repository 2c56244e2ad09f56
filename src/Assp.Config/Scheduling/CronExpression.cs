using System.Globalization;
using System.Numerics;

namespace Assp.Config.Scheduling;

/// <summary>
/// One crontab entry as ASSP's schedule options take it: five whitespace-separated fields
/// (minute, hour, day of month, month, day of week). A field is '*', a number, a range 'a-b',
/// a comma list of those, each optionally with a step '/n'. Month and day of week also take
/// three-letter English names (any case). Day of week 7 is Sunday, like 0.
/// </summary>
/// <remarks>
/// Day matching follows Vixie cron: when both day fields are restricted (neither is literally '*'),
/// a day matches when EITHER field matches; otherwise both must match (a '*' field matches every day).
/// </remarks>
public sealed class CronExpression
{
    // Even the rarest satisfiable entry (Feb 29 with a '*' day of week) recurs within 8 years
    // (2096 -> 2104 skips the non-leap 2100), so 10 years is enough to tell "later" from "never".
    private const int SearchYears = 10;

    private static readonly string[] MonthNames = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
    private static readonly string[] DayNames = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

    private sealed record Field(string Name, int Min, int Max, string[]? Names, int NameBase);

    private static readonly Field[] Fields =
    [
        new("minute", 0, 59, null, 0),
        new("hour", 0, 23, null, 0),
        new("day of month", 1, 31, null, 0),
        new("month", 1, 12, MonthNames, 1),
        new("day of week", 0, 7, DayNames, 0),
    ];

    // One bit per allowed value: bit n set = value n allowed.
    private readonly ulong _minutes;
    private readonly ulong _hours;
    private readonly ulong _daysOfMonth;
    private readonly ulong _months;
    private readonly ulong _daysOfWeek; // bits 0-6, 7 is folded into 0 (Sunday)
    private readonly bool _dayOfMonthIsStar;
    private readonly bool _dayOfWeekIsStar;
    private readonly string _text;

    private CronExpression(ulong[] masks, bool domStar, bool dowStar, string text)
    {
        _minutes = masks[0];
        _hours = masks[1];
        _daysOfMonth = masks[2];
        _months = masks[3];
        _daysOfWeek = (masks[4] | (masks[4] >> 7)) & 0x7F;
        _dayOfMonthIsStar = domStar;
        _dayOfWeekIsStar = dowStar;
        _text = text;
    }

    /// <summary>Parses one crontab entry; on failure <paramref name="error"/> names the field and the bad token.</summary>
    public static bool TryParse(string text, out CronExpression? expr, out string? error)
    {
        expr = null;
        var parts = (text ?? "").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 6)
        {
            error = $"'{text}' has 6 fields: ASSP schedules have five (minute hour day-of-month month day-of-week); a seconds field is not supported";
            return false;
        }
        if (parts.Length != 5)
        {
            error = $"'{text}' has {parts.Length} field(s); a crontab entry needs five: minute hour day-of-month month day-of-week";
            return false;
        }

        var masks = new ulong[5];
        for (var i = 0; i < 5; i++)
        {
            if (!TryParseField(parts[i], Fields[i], out masks[i], out error)) return false;
        }

        var normalized = string.Join(' ', parts.Select(p => p.ToLowerInvariant()));
        expr = new CronExpression(masks, parts[2] == "*", parts[4] == "*", normalized);
        error = null;
        return true;
    }

    /// <summary>Parses one crontab entry or throws <see cref="FormatException"/>.</summary>
    public static CronExpression Parse(string text) =>
        TryParse(text, out var expr, out var error) ? expr! : throw new FormatException(error);

    /// <summary>Whether the minute containing <paramref name="localTime"/> is one this entry fires in.</summary>
    public bool Matches(DateTime localTime) =>
        Has(_minutes, localTime.Minute) && Has(_hours, localTime.Hour) && Has(_months, localTime.Month) && DayMatches(localTime);

    /// <summary>
    /// The next matching minute strictly after <paramref name="localTime"/> (a wall-clock time; seconds are
    /// dropped), or null when the entry never matches within the search window (e.g. '0 0 31 2 *').
    /// The result keeps the <see cref="DateTime.Kind"/> of the input.
    /// </summary>
    public DateTime? NextAfter(DateTime localTime)
    {
        var t = new DateTime(localTime.Ticks - localTime.Ticks % TimeSpan.TicksPerMinute);
        // The last representable year is not searched; that keeps the roll-overs below from overflowing.
        if (t.Year >= 9999) return null;
        t = t.AddMinutes(1);
        var lastYear = Math.Min(t.Year + SearchYears, 9998);

        // Each step jumps to the start of the next candidate month, day or hour, so the loop
        // runs at most a few times per day of the search window, never once per minute.
        while (t.Year <= lastYear)
        {
            if (!Has(_months, t.Month))
            {
                var month = NextBit(_months, t.Month + 1);
                t = month > 0
                    ? new DateTime(t.Year, month, 1)
                    : new DateTime(t.Year + 1, NextBit(_months, 1), 1);
                continue;
            }
            if (!DayMatches(t))
            {
                t = t.Date.AddDays(1);
                continue;
            }
            var hour = NextBit(_hours, t.Hour);
            if (hour < 0)
            {
                t = t.Date.AddDays(1);
                continue;
            }
            if (hour != t.Hour) t = t.Date.AddHours(hour);
            var minute = NextBit(_minutes, t.Minute);
            if (minute < 0)
            {
                t = t.Date.AddHours(t.Hour + 1);
                continue;
            }
            return DateTime.SpecifyKind(t.Date.AddHours(t.Hour).AddMinutes(minute), localTime.Kind);
        }
        return null;
    }

    /// <summary>The normalized entry: fields separated by single spaces, names in lower case.</summary>
    public override string ToString() => _text;

    private bool DayMatches(DateTime t)
    {
        var dom = Has(_daysOfMonth, t.Day);
        var dow = Has(_daysOfWeek, (int)t.DayOfWeek);
        // Vixie cron: a '*' day field matches every day, so AND is right; two restricted fields OR.
        return _dayOfMonthIsStar || _dayOfWeekIsStar ? dom && dow : dom || dow;
    }

    private static bool Has(ulong mask, int value) => (mask >> value & 1) != 0;

    /// <summary>The lowest set bit at or above <paramref name="from"/>, or -1.</summary>
    private static int NextBit(ulong mask, int from)
    {
        if (from > 63) return -1;
        var rest = mask >> from;
        return rest == 0 ? -1 : from + BitOperations.TrailingZeroCount(rest);
    }

    private static bool TryParseField(string text, Field field, out ulong mask, out string? error)
    {
        mask = 0;
        foreach (var item in text.Split(','))
        {
            if (item.Length == 0)
                return Fail($"empty element in '{text}'", out error);

            var slash = item.IndexOf('/', StringComparison.Ordinal);
            var range = slash < 0 ? item : item[..slash];
            var step = 1;
            if (slash >= 0)
            {
                var stepText = item[(slash + 1)..];
                if (!int.TryParse(stepText, NumberStyles.None, CultureInfo.InvariantCulture, out step) || step < 1)
                    return Fail($"step '{stepText}' in '{item}' must be a whole number of at least 1", out error);
            }

            int low, high;
            if (range == "*")
            {
                (low, high) = (field.Min, field.Max);
            }
            else
            {
                var dash = range.IndexOf('-', StringComparison.Ordinal);
                if (dash < 0)
                {
                    if (!TryParseValue(range, item, field, out low, out error)) return false;
                    // 'n/step' is the common cron shorthand for 'n-max/step'.
                    high = slash >= 0 ? field.Max : low;
                }
                else
                {
                    if (!TryParseValue(range[..dash], item, field, out low, out error)) return false;
                    if (!TryParseValue(range[(dash + 1)..], item, field, out high, out error)) return false;
                    // 'fri-sun' means 5-7: Sunday at the end of a week range is 7, not 0.
                    if (field.Names == DayNames && high == 0 && low > 0) high = 7;
                    if (low > high)
                        return Fail($"range '{range}' runs backwards", out error);
                }
            }

            for (var v = low; v <= high; v += step) mask |= 1UL << v;
        }
        error = null;
        return true;

        bool Fail(string problem, out string? message)
        {
            message = $"{field.Name} field: {problem}";
            return false;
        }
    }

    private static bool TryParseValue(string token, string item, Field field, out int value, out string? error)
    {
        error = null;
        if (token.Length == 0)
        {
            value = 0;
            error = $"{field.Name} field: missing number in '{item}'";
            return false;
        }
        if (token.All(char.IsAsciiDigit))
        {
            // Length guard: '99999999999' must report "out of range", not overflow.
            if (token.Length <= 4 && int.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out value)
                && value >= field.Min && value <= field.Max)
            {
                return true;
            }
            value = 0;
            error = $"{field.Name} field: '{token}' is out of range {field.Min}-{field.Max}";
            return false;
        }
        if (field.Names is { } names)
        {
            var index = Array.FindIndex(names, n => n.Equals(token, StringComparison.OrdinalIgnoreCase));
            if (index >= 0)
            {
                value = index + field.NameBase;
                return true;
            }
            value = 0;
            error = $"{field.Name} field: '{token}' is neither a number {field.Min}-{field.Max} nor a name ({names[0]}..{names[^1]})";
            return false;
        }
        value = 0;
        error = $"{field.Name} field: '{token}' is not a number {field.Min}-{field.Max}";
        return false;
    }
}
