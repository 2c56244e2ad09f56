using Assp.Config.Scheduling;

namespace Assp.Config.Tests.Scheduling;

public class CronExpressionTests
{
    private static DateTime At(int y, int mo, int d, int h = 0, int mi = 0, int s = 0) => new(y, mo, d, h, mi, s);

    private static DateTime Next(string cron, DateTime after) =>
        CronExpression.Parse(cron).NextAfter(after) ?? throw new InvalidOperationException($"'{cron}' never fires after {after:s}");

    /// <summary>The next <paramref name="count"/> firing times after <paramref name="after"/>.</summary>
    private static List<DateTime> Sequence(string cron, DateTime after, int count)
    {
        var expr = CronExpression.Parse(cron);
        var list = new List<DateTime>();
        var t = after;
        for (var i = 0; i < count; i++)
        {
            t = expr.NextAfter(t)!.Value;
            list.Add(t);
        }
        return list;
    }

    [Theory]
    [InlineData("8 0 * * *", "8 0 * * *")]
    [InlineData("5 11 * * Sat,Sun", "5 11 * * sat,sun")]
    [InlineData("0-59/5 * * * *", "0-59/5 * * * *")]
    [InlineData("42 12 3 Feb Sat", "42 12 3 feb sat")]
    [InlineData("30 4 1,15 * 5", "30 4 1,15 * 5")]
    [InlineData("  */2   0-23/2\t1-30/5 JAN,mar-May MON-fri ", "*/2 0-23/2 1-30/5 jan,mar-may mon-fri")]
    [InlineData("0 0 * * 7", "0 0 * * 7")]
    [InlineData("0,15-20,45 1,2 * dec 0", "0,15-20,45 1,2 * dec 0")]
    public void Parses_valid_entries_and_normalizes_the_text(string text, string normalized)
    {
        Assert.True(CronExpression.TryParse(text, out var expr, out var error), error);
        Assert.Null(error);
        Assert.Equal(normalized, expr!.ToString());
    }

    [Theory]
    [InlineData("0 0 * * * *", "seconds")]
    [InlineData("0 0 * *", "five")]
    [InlineData("", "five")]
    [InlineData("60 * * * *", "minute field", "'60'")]
    [InlineData("* 24 * * *", "hour field", "'24'")]
    [InlineData("* * 0 * *", "day of month field", "'0'")]
    [InlineData("* * 32 * *", "day of month field", "'32'")]
    [InlineData("* * * 13 *", "month field", "'13'")]
    [InlineData("* * * * 8", "day of week field", "'8'")]
    [InlineData("foo * * * *", "minute field", "'foo'")]
    [InlineData("* * * foo *", "month field", "'foo'")]
    [InlineData("* * * * funday", "day of week field", "'funday'")]
    [InlineData("* 5-1 * * *", "hour field", "'5-1'")]
    [InlineData("*/0 * * * *", "minute field", "'0'")]
    [InlineData("* * */x * *", "day of month field", "'x'")]
    [InlineData("1,,2 * * * *", "minute field", "'1,,2'")]
    [InlineData("1, * * * *", "minute field", "'1,'")]
    [InlineData("* -5 * * *", "hour field", "'-5'")]
    [InlineData("* * * * mon-", "day of week field", "'mon-'")]
    [InlineData("* * * sun *", "month field", "'sun'")]
    [InlineData("99999999999 * * * *", "minute field", "'99999999999'")]
    public void Rejects_bad_entries_naming_the_field_and_token(string text, params string[] fragments)
    {
        Assert.False(CronExpression.TryParse(text, out var expr, out var error));
        Assert.Null(expr);
        Assert.NotNull(error);
        foreach (var fragment in fragments) Assert.Contains(fragment, error, StringComparison.Ordinal);
        Assert.Throws<FormatException>(() => CronExpression.Parse(text));
    }

    [Fact]
    public void Ranges_steps_lists_and_names_expand_to_the_right_values()
    {
        // Every matching minute of one Monday (2027-01-04) from the expression's own Matches().
        static int[] Minutes(string cron) =>
            Enumerable.Range(0, 60).Where(m => CronExpression.Parse(cron).Matches(At(2027, 1, 4, 0, m))).ToArray();

        Assert.Equal([0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55], Minutes("0-59/5 * * * *"));
        Assert.Equal([0, 20, 40], Minutes("*/20 * * * *"));
        Assert.Equal([1, 6, 11, 16, 21, 26], Minutes("1-30/5 * * * *"));
        Assert.Equal([3, 7, 8, 9, 50], Minutes("3,7-9,50 * * * *"));
        Assert.Equal([10, 25, 40, 55], Minutes("10/15 * * * *")); // 'n/step' = 'n-max/step'
        Assert.Equal([0], Minutes("*/90 * * * *"));
        Assert.Empty(Minutes("0 1 * * *")); // hour 0 does not match

        static int[] Hours(string cron) =>
            Enumerable.Range(0, 24).Where(h => CronExpression.Parse(cron).Matches(At(2027, 1, 4, h))).ToArray();
        Assert.Equal([0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22], Hours("0 0-23/2 * * *"));
        Assert.Equal([0, 6, 12, 18], Hours("0 */6 * * *"));
    }

    [Theory]
    [InlineData("0 0 * * 0")]
    [InlineData("0 0 * * 7")]
    [InlineData("0 0 * * sun")]
    [InlineData("0 0 * * SUN")]
    [InlineData("0 0 * * Sun")]
    public void Sunday_is_0_7_or_its_name(string cron)
    {
        Assert.Equal(At(2027, 1, 3), Next(cron, At(2027, 1, 1)));
        Assert.Equal(At(2027, 1, 10), Next(cron, At(2027, 1, 3)));
    }

    [Fact]
    public void Week_ranges_may_end_on_sunday_as_7_or_by_name()
    {
        // Fri 2027-01-01: Fri, Sat, Sun, then next Fri.
        var expected = new[] { At(2027, 1, 1), At(2027, 1, 2), At(2027, 1, 3), At(2027, 1, 8) };
        Assert.Equal(expected, Sequence("0 0 * * 5-7", At(2026, 12, 31), 4));
        Assert.Equal(expected, Sequence("0 0 * * fri-sun", At(2026, 12, 31), 4));
        Assert.Equal(expected, Sequence("0 0 * * FRI,sat,7", At(2026, 12, 31), 4));
    }

    [Fact]
    public void Month_names_in_any_case()
    {
        Assert.Equal([At(2027, 1, 1), At(2027, 3, 1), At(2027, 4, 1), At(2027, 5, 1), At(2028, 1, 1)],
            Sequence("0 0 1 JAN,mar-May *", At(2026, 12, 31), 5));
    }

    [Fact]
    public void Daily_at_00_08()
    {
        Assert.Equal(At(2027, 1, 1, 0, 8), Next("8 0 * * *", At(2027, 1, 1, 0, 7, 59)));
        // Strictly after: at 00:08 itself (even with seconds) the next one is tomorrow.
        Assert.Equal(At(2027, 1, 2, 0, 8), Next("8 0 * * *", At(2027, 1, 1, 0, 8)));
        Assert.Equal(At(2027, 1, 2, 0, 8), Next("8 0 * * *", At(2027, 1, 1, 0, 8, 30)));
        // Across a year end.
        Assert.Equal(At(2028, 1, 1, 0, 8), Next("8 0 * * *", At(2027, 12, 31, 23, 0)));
    }

    [Fact]
    public void Weekends_at_11_05()
    {
        // 2027-01-01 is a Friday.
        Assert.Equal([At(2027, 1, 2, 11, 5), At(2027, 1, 3, 11, 5), At(2027, 1, 9, 11, 5), At(2027, 1, 10, 11, 5)],
            Sequence("5 11 * * Sat,Sun", At(2027, 1, 1), 4));
    }

    [Fact]
    public void Every_five_minutes()
    {
        Assert.Equal(At(2027, 6, 1, 10, 5), Next("0-59/5 * * * *", At(2027, 6, 1, 10, 2, 30)));
        Assert.Equal(At(2027, 6, 1, 11, 0), Next("0-59/5 * * * *", At(2027, 6, 1, 10, 55)));
        Assert.Equal(At(2028, 1, 1, 0, 0), Next("0-59/5 * * * *", At(2027, 12, 31, 23, 59)));
    }

    [Fact]
    public void Feb_3rd_or_any_saturday_in_february()
    {
        // Feb 3 2027 is a Wednesday; the Saturdays are the 6th, 13th, 20th and 27th; Feb 3 2028 is a Thursday.
        Assert.Equal(
            [At(2027, 2, 3, 12, 42), At(2027, 2, 6, 12, 42), At(2027, 2, 13, 12, 42), At(2027, 2, 20, 12, 42),
             At(2027, 2, 27, 12, 42), At(2028, 2, 3, 12, 42), At(2028, 2, 5, 12, 42)],
            Sequence("42 12 3 Feb Sat", At(2027, 1, 1), 7));
    }

    [Fact]
    public void First_and_fifteenth_or_fridays_vixie_or_rule()
    {
        // From Fri 2027-01-29 05:00: Mon Feb 1 (1st), Fri Feb 5, Fri Feb 12, Mon Feb 15 (15th), Fri Feb 19.
        Assert.Equal(
            [At(2027, 2, 1, 4, 30), At(2027, 2, 5, 4, 30), At(2027, 2, 12, 4, 30), At(2027, 2, 15, 4, 30), At(2027, 2, 19, 4, 30)],
            Sequence("30 4 1,15 * 5", At(2027, 1, 29, 5, 0), 5));
    }

    [Fact]
    public void Day_fields_combine_with_and_when_one_of_them_is_a_star()
    {
        // Only day of week restricted: Mondays only.
        Assert.Equal([At(2027, 1, 11), At(2027, 1, 18)], Sequence("0 0 * * 1", At(2027, 1, 10), 2));
        // Only day of month restricted: the 13th only.
        Assert.Equal([At(2027, 1, 13), At(2027, 2, 13)], Sequence("0 0 13 * *", At(2027, 1, 10), 2));
        // Both restricted: 13th OR Monday.
        Assert.Equal([At(2027, 1, 11), At(2027, 1, 13), At(2027, 1, 18)], Sequence("0 0 13 * 1", At(2027, 1, 10), 3));
    }

    [Fact]
    public void Month_ends_skip_short_months()
    {
        Assert.Equal([At(2027, 1, 31), At(2027, 3, 31), At(2027, 5, 31), At(2027, 7, 31), At(2027, 8, 31)],
            Sequence("0 0 31 * *", At(2027, 1, 1), 5));
        Assert.Equal([At(2027, 1, 30), At(2027, 3, 30)], Sequence("0 0 30 * *", At(2027, 1, 1), 2));
    }

    [Fact]
    public void Leap_day_once_every_four_years_and_not_in_2100()
    {
        Assert.Equal(At(2028, 2, 29), Next("0 0 29 2 *", At(2027, 1, 1)));
        Assert.Equal(At(2032, 2, 29), Next("0 0 29 2 *", At(2028, 2, 29)));
        Assert.Equal(At(2104, 2, 29), Next("0 0 29 2 *", At(2096, 3, 1)));
    }

    [Theory]
    [InlineData("0 0 31 2 *")]
    [InlineData("0 0 30 2 *")]
    [InlineData("0 0 31 4,6,9,11 *")]
    public void Impossible_dates_never_fire(string cron)
    {
        Assert.Null(CronExpression.Parse(cron).NextAfter(At(2027, 1, 1)));
    }

    [Fact]
    public void Result_keeps_the_kind_of_the_input_and_has_no_seconds()
    {
        var next = Next("*/5 * * * *", new DateTime(2027, 1, 1, 10, 3, 17, 999, DateTimeKind.Local));
        Assert.Equal(DateTimeKind.Local, next.Kind);
        Assert.Equal(new DateTime(2027, 1, 1, 10, 5, 0), next);
        Assert.Equal(DateTimeKind.Unspecified, Next("*/5 * * * *", At(2027, 1, 1)).Kind);
    }

    [Fact]
    public void Last_year_does_not_overflow()
    {
        Assert.Null(CronExpression.Parse("0 0 1 1 *").NextAfter(DateTime.MaxValue));
        Assert.Null(CronExpression.Parse("0 0 1 1 *").NextAfter(At(9998, 6, 1)));
    }

    /// <summary>NextAfter against an independent minute-by-minute walk for a spread of expressions.</summary>
    [Theory]
    [InlineData("8 0 * * *")]
    [InlineData("5 11 * * Sat,Sun")]
    [InlineData("0-59/5 * * * *")]
    [InlineData("42 12 3 Feb Sat")]
    [InlineData("30 4 1,15 * 5")]
    [InlineData("15 */6 1 * *")]
    [InlineData("0 22 * 2 mon-fri")]
    [InlineData("59 23 31 * *")]
    [InlineData("*/7 3-4 29 2 *")]
    public void NextAfter_agrees_with_a_brute_force_walk_over_2027_2028(string cron)
    {
        var expr = CronExpression.Parse(cron);
        var fromNext = new List<DateTime>();
        for (var t = expr.NextAfter(At(2026, 12, 31, 23, 59)); t is { } v && v.Year < 2029; t = expr.NextAfter(v)) fromNext.Add(v);

        var brute = new List<DateTime>();
        for (var t = At(2027, 1, 1); t.Year < 2029; t = t.AddMinutes(1))
        {
            if (expr.Matches(t)) brute.Add(t);
        }
        Assert.NotEmpty(brute);
        Assert.Equal(brute, fromNext);
    }
}
