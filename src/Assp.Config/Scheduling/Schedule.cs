using System.Globalization;

namespace Assp.Config.Scheduling;

/// <summary>What a schedule option asks for.</summary>
public enum ScheduleKind
{
    /// <summary>Empty, 0 or 'noschedule': the job never runs on its own.</summary>
    Never,
    /// <summary>A plain number: run every number × the option's unit.</summary>
    Interval,
    /// <summary>One or more crontab entries joined by '|'.</summary>
    Cron,
}

/// <summary>
/// The parsed value of one of ASSP's schedule options: never, a fixed interval, or crontab entries.
/// Immutable, so a config snapshot can hand it to the scheduler without copying.
/// </summary>
public sealed class Schedule
{
    // The fall-back hour can make up to 60 per-minute candidates "already past"; far more than that is a bug.
    private const int MaxSkippedCandidates = 10_000;

    private Schedule(ScheduleKind kind, TimeSpan? interval, IReadOnlyList<CronExpression> entries)
    {
        Kind = kind;
        Interval = interval;
        Entries = entries;
    }

    /// <summary>The schedule that never fires.</summary>
    public static Schedule Never { get; } = new(ScheduleKind.Never, null, []);

    public ScheduleKind Kind { get; }

    /// <summary>The interval of an <see cref="ScheduleKind.Interval"/> schedule, otherwise null.</summary>
    public TimeSpan? Interval { get; }

    /// <summary>The crontab entries of a <see cref="ScheduleKind.Cron"/> schedule, otherwise empty.</summary>
    public IReadOnlyList<CronExpression> Entries { get; }

    /// <summary>A fixed interval of at least one second.</summary>
    public static Schedule Every(TimeSpan interval)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(interval, TimeSpan.FromSeconds(1));
        return new(ScheduleKind.Interval, interval, []);
    }

    /// <summary>
    /// Parses an option value. A plain number (decimals allowed) is an interval of that many
    /// <paramref name="intervalUnit"/>s; empty, 0 and 'noschedule' mean never; anything else must be
    /// crontab entries separated by '|' (empty entries between bars are ignored, as ASSP does).
    /// </summary>
    public static bool TryParse(string? value, TimeSpan intervalUnit, out Schedule? schedule, out string? error)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(intervalUnit, TimeSpan.Zero);
        schedule = null;
        error = null;
        var v = (value ?? "").Trim();
        if (v.Length == 0 || v.Equals("noschedule", StringComparison.OrdinalIgnoreCase))
        {
            schedule = Never;
            return true;
        }

        if (decimal.TryParse(v, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
            return TryMakeInterval(v, number, intervalUnit, out schedule, out error);

        var entries = new List<CronExpression>();
        var texts = v.Split('|', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        for (var i = 0; i < texts.Length; i++)
        {
            if (!CronExpression.TryParse(texts[i], out var expr, out var entryError))
            {
                error = texts.Length == 1 ? entryError : $"entry {i + 1} of {texts.Length}: {entryError}";
                return false;
            }
            entries.Add(expr!);
        }
        // Only bars, e.g. '|': nothing to run.
        schedule = entries.Count == 0 ? Never : new Schedule(ScheduleKind.Cron, null, entries);
        return true;
    }

    /// <summary>Parses an option value or throws <see cref="FormatException"/>.</summary>
    public static Schedule Parse(string? value, TimeSpan intervalUnit) =>
        TryParse(value, intervalUnit, out var schedule, out var error) ? schedule! : throw new FormatException(error);

    /// <summary>
    /// The next time the schedule fires strictly after <paramref name="now"/>, or null for never.
    /// Crontab entries are read as wall-clock times in <paramref name="zone"/>: a wall time skipped by a
    /// spring-forward jump fires at the first instant after the gap; a wall time repeated by a fall-back
    /// fires only at its first occurrence. The result carries the zone's offset at that instant.
    /// </summary>
    public DateTimeOffset? NextAfter(DateTimeOffset now, TimeZoneInfo zone)
    {
        ArgumentNullException.ThrowIfNull(zone);
        switch (Kind)
        {
            case ScheduleKind.Interval:
                var interval = Interval!.Value;
                return now <= DateTimeOffset.MaxValue - interval ? now + interval : null;
            case ScheduleKind.Cron:
                DateTimeOffset? earliest = null;
                foreach (var entry in Entries)
                {
                    var next = NextAfter(entry, now, zone);
                    if (next is { } n && (earliest is null || n < earliest)) earliest = n;
                }
                return earliest;
            default:
                return null;
        }
    }

    /// <summary>'never', 'every 6h' (or a TimeSpan for odd lengths), or the normalized entries joined by '|'.</summary>
    public override string ToString() => Kind switch
    {
        ScheduleKind.Interval => "every " + FormatInterval(Interval!.Value),
        ScheduleKind.Cron => string.Join('|', Entries),
        _ => "never",
    };

    private static DateTimeOffset? NextAfter(CronExpression entry, DateTimeOffset now, TimeZoneInfo zone)
    {
        var cursor = TimeZoneInfo.ConvertTime(now, zone).DateTime; // wall clock, Kind Unspecified
        for (var i = 0; i < MaxSkippedCandidates; i++)
        {
            if (entry.NextAfter(cursor) is not { } local) return null;
            var instant = ToInstant(local, zone);
            // Only a repeated (fall-back) wall time can land at or before now: its first
            // occurrence is already past, and the second one is deliberately not run.
            if (instant > now) return instant;
            cursor = local;
        }
        return null;
    }

    private static DateTimeOffset ToInstant(DateTime local, TimeZoneInfo zone)
    {
        if (zone.IsInvalidTime(local))
        {
            // The clocks jumped over this wall time: run at the first minute that exists again,
            // which is the instant of the jump itself (03:00 for a 02:00 -> 03:00 change).
            var t = local;
            for (var i = 0; i < 48 * 60 && zone.IsInvalidTime(t); i++) t = t.AddMinutes(1);
            return new DateTimeOffset(t, zone.GetUtcOffset(t));
        }
        if (zone.IsAmbiguousTime(local))
        {
            // The wall time happens twice; the larger offset is the earlier (first) occurrence.
            var offset = zone.GetAmbiguousTimeOffsets(local).Max();
            return new DateTimeOffset(local, offset);
        }
        return new DateTimeOffset(local, zone.GetUtcOffset(local));
    }

    private static bool TryMakeInterval(string text, decimal number, TimeSpan unit, out Schedule? schedule, out string? error)
    {
        schedule = null;
        error = null;
        if (number == 0)
        {
            schedule = Never;
            return true;
        }
        if (number < 0)
        {
            error = $"interval '{text}' must not be negative (0 or empty turns the schedule off)";
            return false;
        }
        decimal ticks;
        try
        {
            ticks = decimal.Round(number * unit.Ticks);
        }
        catch (OverflowException)
        {
            ticks = decimal.MaxValue;
        }
        if (ticks > TimeSpan.MaxValue.Ticks)
        {
            error = $"interval '{text}' is too long";
            return false;
        }
        var interval = TimeSpan.FromTicks((long)ticks);
        // Anything shorter would make the scheduler spin; ASSP's smallest unit is the second anyway.
        if (interval < TimeSpan.FromSeconds(1))
        {
            error = $"interval '{text}' is shorter than one second";
            return false;
        }
        schedule = new Schedule(ScheduleKind.Interval, interval, []);
        return true;
    }

    private static string FormatInterval(TimeSpan span)
    {
        var ticks = span.Ticks;
        if (ticks % TimeSpan.TicksPerDay == 0) return $"{ticks / TimeSpan.TicksPerDay}d";
        if (ticks % TimeSpan.TicksPerHour == 0) return $"{ticks / TimeSpan.TicksPerHour}h";
        if (ticks % TimeSpan.TicksPerMinute == 0) return $"{ticks / TimeSpan.TicksPerMinute}m";
        if (ticks % TimeSpan.TicksPerSecond == 0) return $"{ticks / TimeSpan.TicksPerSecond}s";
        return span.ToString("c", CultureInfo.InvariantCulture);
    }
}
