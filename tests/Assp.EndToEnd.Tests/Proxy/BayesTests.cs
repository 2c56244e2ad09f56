using Assp.Bayes;
using Assp.Checks.Decision;
using Assp.Checks.PenaltyBox;
using Assp.EndToEnd.Tests.Infrastructure;
using Assp.Storage;

namespace Assp.EndToEnd.Tests.Proxy;

/// <summary>
/// The statistical filters in the real proxy in front of Postfix: spam and ham files in the proxy's spam/ and
/// notspam/ folders, a rebuild into the proxy's store, then a similar spam is refused by the Bayesian check and a
/// ham is delivered with its low probability in the X-Assp-Spam-Prob header.
/// </summary>
public class BayesTests
{
    private static DecisionPipeline Pipeline(IStore store) =>
        new(new DecisionEngine(new IpPenaltyBox(store), new StoredAddressReputation(store), new NotSpamTags(store)), null,
            CheckCatalog.Discover(new CheckServices(Store: store)));

    private static string Spam(int i) =>
        $"From: deals{i}@promo.example\r\nTo: me@example.com\r\nSubject: cheap replica watches {i}\r\n\r\n" +
        $"Buy cheap replica watches and pills from our online pharmacy with discount prices, no prescription needed. Order today! code {i}\r\n" +
        "Limited offer: cheap replica watches and pills, online pharmacy discount prices, click now.\r\n";

    private static string Ham(int i) =>
        $"From: colleague{i}@partner.example\r\nTo: me@example.com\r\nSubject: project review {i}\r\n\r\n" +
        $"Hi, the quarterly project review meeting moves to Thursday afternoon. Please bring the budget figures and your notes. {i}\r\n" +
        "Thanks, and see you at the project review meeting on Thursday.\r\n";

    [Fact]
    public async Task A_rebuilt_corpus_makes_the_proxy_refuse_similar_spam_and_pass_ham()
    {
        using var store = new MemoryStore();
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string>
        {
            ["DoBayesian"] = "1",
            ["DoHMM"] = "3",
            ["AddSpamProbHeader"] = "1",
        }, pipeline: Pipeline(store));

        // The corpus, where the collection puts it (spamlog, notspamlog under the base folder).
        var cfg = proxy.Config.Current;
        string spamDir = Path.Combine(proxy.BaseDirectory, cfg["spamlog"]), hamDir = Path.Combine(proxy.BaseDirectory, cfg["notspamlog"]);
        Directory.CreateDirectory(spamDir);
        Directory.CreateDirectory(hamDir);
        for (int i = 0; i < 10; i++)
        {
            await File.WriteAllTextAsync(Path.Combine(spamDir, $"spam{i}{cfg["maillogExt"]}"), Spam(i));
            await File.WriteAllTextAsync(Path.Combine(hamDir, $"ham{i}{cfg["maillogExt"]}"), Ham(i));
        }
        var summary = CorpusRebuild.Run(new RebuildOptions
        {
            Folders = [new CorpusFolder("spamlog", spamDir, true, 1), new CorpusFolder("notspamlog", hamDir, false, 1)],
            MaxBytes = cfg.GetInt("MaxBytes", 4000),
        }, store);
        Assert.Equal(10, summary.Folders[0].Files);
        Assert.True(summary.BayesRecords > 0 && summary.HmmRecords > 0);

        await using (var client = await TestSmtpClient.ConnectAsync(proxy.Port))
        {
            await client.ReadReplyAsync();
            var refused = await client.SendMailAsync("deals99@promo.example", ["me@example.com"], Spam(99));
            Assert.Equal(554, refused.Code);
            var ok = await client.SendMailAsync("colleague99@partner.example", ["me@example.com"], Ham(99), ehlo: false);
            Assert.Equal(250, ok.Code);
        }
        var got = Assert.Single(await mta.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20)));
        Assert.Contains("Subject: project review 99", got.Text);
        var header = got.Text.Split('\n').Select(l => l.TrimEnd('\r')).Single(l => l.StartsWith("X-Assp-Spam-Prob: ", StringComparison.Ordinal));
        Assert.True(double.Parse(header["X-Assp-Spam-Prob: ".Length..], System.Globalization.CultureInfo.InvariantCulture) < 0.1, header);
        Assert.Contains("X-Assp-HMM-Spam-Prob: ", got.Text);
        var log = await proxy.WaitForLogAsync("Bayesian Check");
        Assert.Contains("=> spam", log);
    }

    /// <summary>The files of a collection folder once the background writer has stored count of them.</summary>
    private static async Task<string[]> WaitForFilesAsync(ProxyInstance proxy, string folder, int count)
    {
        var dir = Path.Combine(proxy.BaseDirectory, folder);
        var end = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (DateTime.UtcNow < end)
        {
            var files = Directory.Exists(dir) ? Directory.GetFiles(dir) : [];
            if (files.Length >= count) return files;
            await Task.Delay(50);
        }
        throw new TimeoutException($"{count} files did not appear in {folder}:\n{proxy.ReadMaillog()}");
    }

    /// <summary>The whole chain, with ASSP's word-pair formula (BayesAlgorithm 0), with the feature filter (1) and with
    /// the feature filter joined with the regression (2).</summary>
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public async Task Mail_collected_by_the_proxy_is_rebuilt_and_then_decides_the_next_similar_mail(int bayesAlgorithm)
    {
        using var store = new MemoryStore();
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string>
        {
            ["DoBayesian"] = "1",
            ["DoHMM"] = "3",
            ["AddSpamProbHeader"] = "1",
            ["blackListedDomains"] = "spam.example",
            ["DoBlackDomainWL"] = "0",
            ["whiteListedDomains"] = "friend.example",
            ["UseSubjectsAsMaillogNames"] = "1",
            ["BayesAlgorithm"] = bayesAlgorithm.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["BayesianLog"] = "2",
        }, pipeline: Pipeline(store));

        // 1. The proxy collects: blacklisted senders' spam into spam/, whitelisted senders' ham into notspam/.
        // One connection per message: the proxy may end a session after refusing its mail.
        for (int i = 0; i < 10; i++)
        {
            await using (var client = await TestSmtpClient.ConnectAsync(proxy.Port))
            {
                await client.ReadReplyAsync();
                Assert.Equal(554, (await client.SendMailAsync($"deals{i}@spam.example", ["me@example.com"], Spam(i).Replace("promo.example", "spam.example"))).Code);
            }
            await using (var client = await TestSmtpClient.ConnectAsync(proxy.Port))
            {
                await client.ReadReplyAsync();
                Assert.Equal(250, (await client.SendMailAsync($"pal{i}@friend.example", ["me@example.com"], Ham(i).Replace("partner.example", "friend.example"))).Code);
            }
        }
        var cfg = proxy.Config.Current;
        Assert.Equal(10, (await WaitForFilesAsync(proxy, cfg["spamlog"], 10)).Length);
        Assert.Equal(10, (await WaitForFilesAsync(proxy, cfg["notspamlog"], 10)).Length);

        // 2. The rebuild reads those folders into the proxy's store (what `assp rebuild` and RebuildSchedule run).
        var summary = CorpusRebuild.Run(new RebuildOptions
        {
            Folders =
            [
                new CorpusFolder("spamlog", Path.Combine(proxy.BaseDirectory, cfg["spamlog"]), true, 1),
                new CorpusFolder("notspamlog", Path.Combine(proxy.BaseDirectory, cfg["notspamlog"]), false, 1),
            ],
            MaxBytes = cfg.GetInt("MaxBytes", 4000),
            BuildFeatures = cfg.GetChoice("BayesAlgorithm") >= 1,
            BuildRegression = cfg.GetChoice("BayesAlgorithm") == 2,
        }, store);
        Assert.Equal([10, 10], summary.Folders.Select(f => f.Files));
        Assert.Equal(bayesAlgorithm >= 1, SpamDbProvider.For(store).Current.Features.Count > 0);
        Assert.Equal(bayesAlgorithm == 2, !SpamDbProvider.For(store).Current.Regression.IsEmpty);

        // 3. A similar spam from a sender no list knows is refused by the Bayesian check; a similar ham passes.
        await using (var client = await TestSmtpClient.ConnectAsync(proxy.Port))
        {
            await client.ReadReplyAsync();
            Assert.Equal(554, (await client.SendMailAsync("deals99@promo.example", ["me@example.com"], Spam(99))).Code);
        }
        await using (var client = await TestSmtpClient.ConnectAsync(proxy.Port))
        {
            await client.ReadReplyAsync();
            Assert.Equal(250, (await client.SendMailAsync("colleague99@partner.example", ["me@example.com"], Ham(99))).Code);
        }
        var delivered = await mta.WaitForMessagesAsync(11, TimeSpan.FromSeconds(30));
        var got = Assert.Single(delivered, m => m.Text.Contains("Subject: project review 99", StringComparison.Ordinal));
        var header = got.Text.Split('\n').Select(l => l.TrimEnd('\r')).Single(l => l.StartsWith("X-Assp-Spam-Prob: ", StringComparison.Ordinal));
        Assert.True(double.Parse(header["X-Assp-Spam-Prob: ".Length..], System.Globalization.CultureInfo.InvariantCulture) < 0.1, header);
        Assert.Contains("=> spam", await proxy.WaitForLogAsync("Bayesian Check"));
        if (bayesAlgorithm >= 1) await proxy.WaitForLogAsync($"Bayesian check uses BayesAlgorithm {bayesAlgorithm}");
        else Assert.DoesNotContain("Bayesian check uses BayesAlgorithm", proxy.ReadMaillog());
    }
}
