namespace Assp.Mime.Tests;

public class IdnTests
{
    [Theory]
    [InlineData("bücher", "bcher-kva")]
    [InlineData("münchen", "mnchen-3ya")]
    [InlineData("他们为什么不说中文", "ihqwcrb4cv8a8dqg056pqjye")]
    [InlineData("Pročprostěnemluvíčesky", "Proprostnemluvesky-uyb24dma41a")]
    [InlineData("почемужеонинеговорятпорусски", "b1abfaaepdrnnbgefbadotcwatmq2g4l")]
    [InlineData("3年B組金八先生", "3B-ww4c5e180e575a65lsy2b")]
    public void Rfc3492_vectors(string unicode, string puny)
    {
        Assert.Equal(puny, Idn.EncodePunycode(unicode));
        Assert.True(Idn.TryDecodePunycode(puny, out var back));
        Assert.Equal(unicode, back);
    }

    [Fact]
    public void Domains()
    {
        Assert.Equal("bücher.example.com", Idn.DomainToUnicode("xn--bcher-kva.example.com"));
        Assert.Equal("xn--bcher-kva.example.com", Idn.DomainToAscii("bücher.example.com"));
        Assert.Equal("xn--!!!.com", Idn.DomainToUnicode("xn--!!!.com"));
        Assert.Equal("plain.com", Idn.DomainToUnicode("plain.com"));
    }

    [Fact]
    public void Invalid_input_is_rejected_without_throwing()
    {
        Assert.False(Idn.TryDecodePunycode("99999999999999999", out _));
        Assert.False(Idn.TryDecodePunycode("ü-abc", out _));
    }
}
