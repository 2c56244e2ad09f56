using Assp.Checks.Checks;
using Assp.Checks.Decision;
using Assp.Checks.Tests.Decision;
using Assp.Config;

namespace Assp.Checks.Tests.Checks;

/// <summary>DoTransliterate: the bomb checks also search the text spelled in ASCII letters.</summary>
public class TransliterationTests
{
    [Fact]
    public void Chinese_Cyrillic_and_Greek_become_Latin_letters()
    {
        Assert.True(Transliteration.HasFullTransliteration, "libicu (which .NET on Linux needs anyway) was not found");
        Assert.Equal("nian guang tong xin", Transliteration.ToAscii("年光通信")!.Trim().ToLowerInvariant());
        Assert.Equal("viagra", Transliteration.ToAscii("виагра"));
        Assert.Equal("kasino", Transliteration.ToAscii("κασινο"));
        Assert.Equal("Cafe creme", Transliteration.ToAscii("Café crème"));
    }

    [Fact]
    public void Plain_ASCII_gives_nothing_to_add() => Assert.Null(Transliteration.ToAscii("just ascii text"));

    [Fact]
    public void The_fallback_drops_accents_and_spells_out_ligatures() =>
        Assert.Equal("Strasse Cafe aeOE", Transliteration.Reduce("Straße Café æŒ"));

    private static ConfigSnapshot Cfg(params (string, string)[] values) =>
        TestConfig.Create([("localDomains", "local.test"), ("bombRe", "viagra=>1.5|nian guang"), .. values]);

    private static async Task<Verdict> Run(ConfigSnapshot cfg, string body, string subject = "hello")
    {
        var pipeline = new DecisionPipeline(new DecisionEngine(new FakeIpReputation(), new FakeAddressReputation()), null, CheckCatalog.Discover(CheckServices.None));
        var ctx = new FakeMailContext(cfg) { Helo = "mx.sender.example" };
        var message = "From: a@sender.example\nMessage-ID: <1234.5678@sender.example>\nSubject: " + subject
            + "\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n" + body + "\n";
        var (verdict, _) = await Transaction.RunAsync(pipeline, ctx, "a@sender.example", ["u@local.test"], message);
        return verdict;
    }

    [Fact]
    public async Task With_DoTransliterate_bombRe_catches_a_Cyrillic_spelling()
    {
        var blocked = await Run(Cfg(("DoTransliterate", "1")), "купите виагра сегодня");
        Assert.True(blocked.Refuses);
        Assert.Contains("bombRe: 'viagra'", blocked.Reply);
        Assert.False((await Run(Cfg(), "купите виагра сегодня")).Refuses);
    }

    [Fact]
    public async Task With_DoTransliterate_a_Chinese_body_is_searched_as_pinyin()
    {
        Assert.True((await Run(Cfg(("DoTransliterate", "1")), "年光通信产业会回归高增长轨道")).Refuses);
        Assert.False((await Run(Cfg(), "年光通信产业会回归高增长轨道")).Refuses);
    }
}
