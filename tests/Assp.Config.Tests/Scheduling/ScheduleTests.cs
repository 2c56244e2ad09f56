using Assp.Config.Scheduling;

namespace Assp.Config.Tests.Scheduling;

public class ScheduleTests
{
    internal static readonly TimeZoneInfo Berlin = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");
    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);
    private static readonly TimeSpan Plus1 = TimeSpan.FromHours(1);
    private static readonly TimeSpan Plus2 = TimeSpan.FromHours(2);

    /// <summary>A Berlin wall-clock time with an explicit offset (+1 winter, +2 summer).</summary>
    private static DateTimeOffset Local(int y, int mo, int d, int h, int mi, TimeSpan offset) => new(y, mo, d, h, mi, 0, offset);

    private static DateTimeOffset Utc(int y, int mo, int d, int h, int mi) => new(y, mo, d, h, mi, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("0")]
    [InlineData("0.0")]
    [InlineData("noschedule")]
    [InlineData(" NoSchedule ")]
    [InlineData("|")]
    public void Empty_zero_and_noschedule_mean_never(string? value)
    {
        Assert.True(Schedule.TryParse(value, Hour, out var schedule, out var error), error);
        Assert.Equal(ScheduleKind.Never, schedule!.Kind);
        Assert.Null(schedule.NextAfter(DateTimeOffset.UnixEpoch, TimeZoneInfo.Utc));
        Assert.Equal("never", schedule.ToString());
    }

    [Theory]
    [InlineData("2", 3600, 7200, "every 2h")]
    [InlineData("1.5", 3600, 5400, "every 90m")]
    [InlineData("24", 3600, 86400, "every 1d")]
    [InlineData("0.5", 60, 30, "every 30s")]
    [InlineData("90", 1, 90, "every 90s")]
    [InlineData(" 15 ", 60, 900, "every 15m")]
    public void A_number_is_an_interval_in_the_option_unit(string value, int unitSeconds, int expectedSeconds, string text)
    {
        var schedule = Schedule.Parse(value, TimeSpan.FromSeconds(unitSeconds));
        Assert.Equal(ScheduleKind.Interval, schedule.Kind);
        Assert.Equal(TimeSpan.FromSeconds(expectedSeconds), schedule.Interval);
        Assert.Equal(text, schedule.ToString());
        var now = Utc(2027, 3, 28, 0, 59);
        Assert.Equal(now + TimeSpan.FromSeconds(expectedSeconds), schedule.NextAfter(now, Berlin));
    }

    [Theory]
    [InlineData("-1", "negative")]
    [InlineData("0.1", "shorter than one second")]
    [InlineData("99999999999999999999", "too long")]
    [InlineData("1e3", "field")]
    public void Bad_intervals_are_rejected(string value, string fragment)
    {
        Assert.False(Schedule.TryParse(value, TimeSpan.FromSeconds(1), out var schedule, out var error));
        Assert.Null(schedule);
        Assert.Contains(fragment, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Crontab_entries_joined_by_bars()
    {
        var schedule = Schedule.Parse(" 8 0 * * * | 5 11 * * Sat,Sun|0-59/5 * * * *||", Hour);
        Assert.Equal(ScheduleKind.Cron, schedule.Kind);
        Assert.Equal(3, schedule.Entries.Count);
        Assert.Null(schedule.Interval);
        Assert.Equal("8 0 * * *|5 11 * * sat,sun|0-59/5 * * * *", schedule.ToString());
    }

    [Theory]
    [InlineData("8 0 * * *|0 0 * * * *", "entry 2 of 2", "seconds")]
    [InlineData("8 0 * * *|61 0 * * *", "entry 2 of 2", "minute field", "'61'")]
    [InlineData("8 0 * * * *", "seconds")]
    [InlineData("daily", "five")]
    [InlineData("5 11 * * Sat,Sunday", "day of week field", "'Sunday'")]
    public void Bad_crontab_entries_are_rejected_with_the_entry_and_field(string value, params string[] fragments)
    {
        Assert.False(Schedule.TryParse(value, Hour, out _, out var error));
        foreach (var fragment in fragments) Assert.Contains(fragment, error, StringComparison.Ordinal);
        Assert.Throws<FormatException>(() => Schedule.Parse(value, Hour));
    }

    [Fact]
    public void The_earliest_entry_wins_and_times_are_read_in_the_zone()
    {
        var schedule = Schedule.Parse("0 3 * * *|30 1 * * *", Hour);
        // 2027-01-01 00:00 UTC is 01:00 in Berlin: 01:30 local comes first, i.e. 00:30 UTC.
        var next = schedule.NextAfter(Utc(2027, 1, 1, 0, 0), Berlin)!.Value;
        Assert.Equal(Utc(2027, 1, 1, 0, 30), next);
        Assert.Equal(Plus1, next.Offset);
        Assert.Equal(Local(2027, 1, 1, 3, 0, Plus1), schedule.NextAfter(next, Berlin));
        // The same entries in UTC.
        Assert.Equal(Utc(2027, 1, 1, 1, 30), schedule.NextAfter(Utc(2027, 1, 1, 0, 0), TimeZoneInfo.Utc));
    }

    [Fact]
    public void Berlin_switches_in_2027_on_the_days_the_tests_assume()
    {
        Assert.True(Berlin.IsInvalidTime(new DateTime(2027, 3, 28, 2, 30, 0)));
        Assert.True(Berlin.IsAmbiguousTime(new DateTime(2027, 10, 31, 2, 30, 0)));
    }

    [Fact]
    public void Spring_forward_runs_a_skipped_time_once_at_the_end_of_the_gap()
    {
        var schedule = Schedule.Parse("30 2 * * *", Hour);
        var first = schedule.NextAfter(Local(2027, 3, 27, 12, 0, Plus1), Berlin)!.Value;
        Assert.Equal(Local(2027, 3, 28, 3, 0, Plus2), first); // 01:00 UTC, the first instant after the gap
        Assert.Equal(Utc(2027, 3, 28, 1, 0), first);
        Assert.Equal(Plus2, first.Offset);
        var after = schedule.NextAfter(first, Berlin)!.Value;
        Assert.Equal(Local(2027, 3, 29, 2, 30, Plus2), after);
    }

    [Fact]
    public void Spring_forward_folds_every_skipped_minute_into_one_run()
    {
        var schedule = Schedule.Parse("*/30 * * * *", Hour);
        // 01:30 (+1) -> 02:00 and 02:30 do not exist -> 03:00 (+2) -> 03:30 (+2).
        var runs = Walk(schedule, Local(2027, 3, 28, 1, 0, Plus1), Local(2027, 3, 28, 4, 1, Plus2));
        Assert.Equal([Local(2027, 3, 28, 1, 30, Plus1), Local(2027, 3, 28, 3, 0, Plus2), Local(2027, 3, 28, 3, 30, Plus2), Local(2027, 3, 28, 4, 0, Plus2)], runs);
    }

    [Fact]
    public void Fall_back_runs_a_repeated_time_once_at_its_first_occurrence()
    {
        var schedule = Schedule.Parse("30 2 * * *", Hour);
        var runs = Walk(schedule, Local(2027, 10, 30, 12, 0, Plus2), Local(2027, 11, 1, 12, 0, Plus1));
        Assert.Equal([Local(2027, 10, 31, 2, 30, Plus2), Local(2027, 11, 1, 2, 30, Plus1)], runs);
        Assert.Equal(Utc(2027, 10, 31, 0, 30), runs[0]);

        // Asked during the second pass through 02:xx, the repeated 02:30 is not run again.
        Assert.Equal(Local(2027, 11, 1, 2, 30, Plus1), schedule.NextAfter(Local(2027, 10, 31, 2, 10, Plus1), Berlin));
    }

    [Fact]
    public void Fall_back_hour_is_not_repeated_for_frequent_entries()
    {
        var schedule = Schedule.Parse("*/30 * * * *", Hour);
        var runs = Walk(schedule, Local(2027, 10, 31, 1, 45, Plus2), Local(2027, 10, 31, 3, 31, Plus1));
        Assert.Equal(
            [Local(2027, 10, 31, 2, 0, Plus2), Local(2027, 10, 31, 2, 30, Plus2), Local(2027, 10, 31, 3, 0, Plus1), Local(2027, 10, 31, 3, 30, Plus1)],
            runs);
    }

    /// <summary>
    /// A RebuildSchedule with several entries stepped through 2027 from one NextAfter to the next, compared
    /// with a brute-force walk over every local minute of the year using a predicate written by hand.
    /// </summary>
    [Fact]
    public void Simulated_year_of_a_rebuild_schedule_matches_brute_force()
    {
        var schedule = Schedule.Parse(RebuildSchedule, Hour);
        var runs = Walk(schedule, YearStart - TimeSpan.FromTicks(1), YearEnd);
        var expected = BruteForce(RebuildPredicate);

        Assert.Equal(RebuildRunsIn2027, expected.Count);
        Assert.Equal(expected, runs);
    }

    /// <summary>The same for entries that fall into the DST gap and the repeated hour.</summary>
    [Fact]
    public void Simulated_year_through_both_dst_switches_matches_brute_force()
    {
        var schedule = Schedule.Parse(DstSchedule, Hour);
        var runs = Walk(schedule, YearStart - TimeSpan.FromTicks(1), YearEnd);
        var expected = BruteForce(DstPredicate);

        Assert.Equal(DstRunsIn2027, expected.Count);
        Assert.Equal(expected, runs);
        Assert.Single(runs, r => r == Local(2027, 3, 28, 3, 0, Plus2));
        Assert.Equal(12, runs.Count(r => r.Date == new DateTime(2027, 3, 28)));
        Assert.Equal(13, runs.Count(r => r.Date == new DateTime(2027, 10, 31)));
        Assert.Single(runs, r => r == Utc(2027, 10, 31, 0, 30)); // 02:30 summer time, not again at 02:30 winter time
    }

    // 03:00 daily, 12:30 on weekdays, and at xx:15 every 6 hours on the 1st of each month.
    internal const string RebuildSchedule = "0 3 * * *|30 12 * * 1-5|15 */6 1 * *";

    // 2027: 365 days at 03:00 + 261 weekdays (52 weeks + Friday Jan 1) + 12 months x 4 = 674.
    internal const int RebuildRunsIn2027 = 365 + 261 + 48;

    internal static bool RebuildPredicate(DateTime t) =>
        t is { Minute: 0, Hour: 3 }
        || t is { Minute: 30, Hour: 12 } && t.DayOfWeek is >= DayOfWeek.Monday and <= DayOfWeek.Friday
        || t is { Minute: 15, Day: 1 } && t.Hour % 6 == 0;

    // 02:30 daily plus every even hour: 02:00 and 02:30 vanish into 03:00 on Mar 28 and run once on Oct 31.
    internal const string DstSchedule = "30 2 * * *|0 */2 * * *";

    // 365 days x 13 runs, minus one on the spring-forward day (02:00 and 02:30 both become 03:00).
    internal const int DstRunsIn2027 = 365 * 13 - 1;

    internal static bool DstPredicate(DateTime t) => t is { Minute: 30, Hour: 2 } || t.Minute == 0 && t.Hour % 2 == 0;

    internal static readonly DateTimeOffset YearStart = Local(2027, 1, 1, 0, 0, Plus1);
    internal static readonly DateTimeOffset YearEnd = Local(2028, 1, 1, 0, 0, Plus1);

    /// <summary>
    /// Every local minute of 2027 that satisfies <paramref name="matches"/>, turned into the instant it
    /// should run at (a missing wall time at the end of its gap, a repeated one at its first occurrence),
    /// without duplicates, in order.
    /// </summary>
    internal static List<DateTimeOffset> BruteForce(Func<DateTime, bool> matches)
    {
        var instants = new SortedSet<DateTimeOffset>();
        for (var t = new DateTime(2027, 1, 1); t.Year == 2027; t = t.AddMinutes(1))
        {
            if (!matches(t)) continue;
            if (Berlin.IsInvalidTime(t))
            {
                var valid = t;
                while (Berlin.IsInvalidTime(valid)) valid = valid.AddMinutes(1);
                instants.Add(new DateTimeOffset(valid, Berlin.GetUtcOffset(valid)));
            }
            else if (Berlin.IsAmbiguousTime(t))
            {
                instants.Add(Berlin.GetAmbiguousTimeOffsets(t).Select(o => new DateTimeOffset(t, o)).Min());
            }
            else
            {
                instants.Add(new DateTimeOffset(t, Berlin.GetUtcOffset(t)));
            }
        }
        return [.. instants];
    }

    /// <summary>All runs in (from, until) following NextAfter from one run to the next.</summary>
    private static List<DateTimeOffset> Walk(Schedule schedule, DateTimeOffset from, DateTimeOffset until)
    {
        var runs = new List<DateTimeOffset>();
        for (var t = schedule.NextAfter(from, Berlin); t is { } v && v < until; t = schedule.NextAfter(v, Berlin))
        {
            Assert.True(runs.Count == 0 || v > runs[^1], $"run {v} is not after {runs.LastOrDefault()}");
            Assert.Equal(Berlin.GetUtcOffset(v), v.Offset);
            runs.Add(v);
        }
        return runs;
    }
}
