namespace Assp.Mime.Tests;

public class MessageIdsTests
{
    [Theory]
    [InlineData("<abc@example.com>", "abc@example.com")]
    [InlineData("  (comment) <abc@example.com> (trailing)", "abc@example.com")]
    [InlineData("abc@example.com", "abc@example.com")]
    [InlineData("<abc @ example.com>", "abc@example.com")]
    [InlineData("<unterminated@example.com", "unterminated@example.com")]
    [InlineData("", null)]
    [InlineData("no id here", null)]
    public void One(string input, string? expected) => Assert.Equal(expected, MessageIds.ParseOne(input));

    [Fact]
    public void Lists()
    {
        Assert.Equal(["a@x", "b@y", "c@z"], MessageIds.ParseList("<a@x> <b@y>\t\"phrase\" <c@z>"));
        var m = TestUtil.Parse("Message-ID: <m@x>\nIn-Reply-To: <p@x>\nReferences: <r1@x> <r2@x>\n\n");
        Assert.Equal("m@x", m.MessageId);
        Assert.Equal(["p@x"], m.InReplyTo);
        Assert.Equal(["r1@x", "r2@x"], m.References);
    }
}
