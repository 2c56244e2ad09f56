namespace Assp.Mime.Tests;

public class DateParserTests
{
    [Theory]
    [InlineData("Thu, 22 Aug 2002 18:26:25 +0700", "2002-08-22T18:26:25+07:00")]
    [InlineData("22 Aug 2002 18:26:25 -0000", "2002-08-22T18:26:25+00:00")]
    [InlineData("Thu, 22 Aug 2002 18:26 EDT", "2002-08-22T18:26:00-04:00")]
    [InlineData("Thu, 22 Aug 02 18:26:25 GMT", "2002-08-22T18:26:25+00:00")]
    [InlineData("Thu, 22 Aug 102 18:26:25 PST", "2002-08-22T18:26:25-08:00")]
    [InlineData("Mon Aug 19 12:00:00 2002", "2002-08-19T12:00:00+00:00")]
    [InlineData("2002-08-22 10:00:00", "2002-08-22T10:00:00+00:00")]
    [InlineData("2002-08-22T10:00:00+02:00", "2002-08-22T10:00:00+02:00")]
    [InlineData("2002/09/14 Sat 02:29:32 CDT", "2002-09-14T02:29:32-05:00")]
    [InlineData("Thu, 22 Aug 2002 18:26:25 +0700 (ICT)", "2002-08-22T18:26:25+07:00")]
    [InlineData("Thursday, 22 August 2002 18:26:25 GMT+0200", "2002-08-22T18:26:25+02:00")]
    [InlineData("Thu,22 Aug 2002 18:26:25 CET", "2002-08-22T18:26:25+01:00")]
    [InlineData("22-Aug-2002 18:26:25 +0100", "2002-08-22T18:26:25+01:00")]
    [InlineData("Thu, 22 Aug 2002 18:26:25 Z", "2002-08-22T18:26:25+00:00")]
    [InlineData("Thu, 22 Aug 2002 18:26:25 +07:00", "2002-08-22T18:26:25+07:00")]
    [InlineData("Thu, 22 Aug 2002 18:26:60 +0000", "2002-08-22T18:26:59+00:00")]
    public void Parses(string input, string expected) =>
        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), DateParser.Parse(input));

    [Theory]
    [InlineData("")]
    [InlineData("yesterday")]
    [InlineData("31 Feb 2002 10:00:00 +0000")]
    [InlineData("22 Foo 2002")]
    [InlineData("Thu, 22 Aug 2002 25:00:00 +0000")]
    public void Rejects(string input) => Assert.Null(DateParser.Parse(input));

    [Fact]
    public void Absurd_zone_is_ignored() =>
        Assert.Equal(TimeSpan.Zero, DateParser.Parse("22 Aug 2002 10:00:00 +9999")!.Value.Offset);
}
