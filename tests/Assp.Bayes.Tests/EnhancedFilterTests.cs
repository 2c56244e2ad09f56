using System.Text;
using Assp.Mime;
using Assp.Storage;

namespace Assp.Bayes.Tests;

public class EnhancedFilterTests
{
    private static MimeMessage Message(string from, string subject, string contentType, string body, string? attachment = null)
    {
        var sb = new StringBuilder();
        sb.Append("From: ").Append(from).Append("\r\nTo: bob@example.org\r\nSubject: ").Append(subject).Append("\r\n");
        if (attachment is null)
            sb.Append("Content-Type: ").Append(contentType).Append("\r\n\r\n").Append(body).Append("\r\n");
        else
            sb.Append("Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: ").Append(contentType)
              .Append("\r\n\r\n").Append(body).Append("\r\n--b1\r\nContent-Type: application/octet-stream\r\n")
              .Append("Content-Disposition: attachment; filename=\"").Append(attachment).Append("\"\r\n\r\nAAAA\r\n--b1--\r\n");
        return MimeParser.Parse(Encoding.ASCII.GetBytes(sb.ToString()));
    }

    private static HashSet<ulong> Features(MimeMessage m) => EnhancedFilter.Features(m, Tokenizer.Words(CorpusText.FromMessage(m)));

    [Fact]
    public void Features_carry_the_mime_structure_the_sender_and_the_domains_of_the_text()
    {
        var m = Message("\"Cheap Deals\" <offers@deals.example.com>", "hello", "text/html; charset=\"Windows-1251\"",
            "<p>visit http://www.shop.example.net/buy now</p>", attachment: "invoice.exe");
        var f = Features(m);
        Assert.Contains(TokenHash.Of("ct:text/html"), f);
        Assert.Contains(TokenHash.Of("cs:windows-1251"), f);
        Assert.Contains(TokenHash.Of("att:exe"), f);
        Assert.Contains(TokenHash.Of("fromname:deals"), f);
        Assert.Contains(TokenHash.Of("fromdom:deals.example.com"), f);
        Assert.Contains(TokenHash.Of("dom:example.net"), f);
        Assert.Contains(TokenHash.Of("tld:net"), f);

        var plain = Features(Message("carol@lists.example.org", "hello", "text/plain", "see you at lunch"));
        Assert.Contains(TokenHash.Of("fromname:(none)"), plain);
        Assert.DoesNotContain(TokenHash.Of("att:exe"), plain);
        Assert.DoesNotContain(TokenHash.Of("ct:text/html"), plain);
    }

    [Fact]
    public void Word_pair_and_header_features_are_the_hashes_of_their_tagged_strings()
    {
        var m = Message("\"Cheap Deals\" <Offers@Deals.Example.com>", "Hello THERE", "text/plain", "Visit our SHOP today 10.0.0.1 cafebabe12");
        var words = Tokenizer.Words(CorpusText.FromMessage(m));
        var f = EnhancedFilter.Features(m, words);
        for (int i = 0; i < words.Count; i++)
        {
            Assert.Contains(TokenHash.Of("w" + words[i]), f);
            if (i > 0) Assert.Contains(TokenHash.Of(words[i - 1] + " " + words[i]), f);
        }
        foreach (var h in m.Headers)
        {
            Assert.Contains(TokenHash.Of("h:" + h.Name.ToLowerInvariant()), f);
            if (h.Name is "From" or "Content-Type")
                foreach (var w in Tokenizer.Words(h.UnfoldedValue)) Assert.Contains(TokenHash.Of(h.Name.ToLowerInvariant() + ":" + w), f);
        }
        Assert.Contains(TokenHash.Of("fromname:cheap"), f);
        Assert.Contains(TokenHash.Of("fromuser-len:3"), f);
        Assert.Contains(TokenHash.Of("parts:1"), f);
    }

    [Fact]
    public void Calibration_puts_the_cross_validated_point_at_the_default_threshold()
    {
        Assert.Equal(0.6, EnhancedFilter.Calibrate(EnhancedFilter.CalibrationPoint), 12);
        Assert.Equal(0, EnhancedFilter.Calibrate(EnhancedFilter.Score(0, -1e6)), 12);
        Assert.Equal(1, EnhancedFilter.Calibrate(EnhancedFilter.Score(1, 1e6)), 6);
        double previous = -1;
        foreach (var score in new[] { 0.0, 0.2, 0.5, 0.5008, EnhancedFilter.CalibrationPoint, 0.501, 0.7, 0.99, 1.0 })
        {
            double p = EnhancedFilter.Calibrate(score);
            Assert.True(p > previous, $"not increasing at {score}");
            previous = p;
        }
    }

    [Fact]
    public void Where_fisher_ties_at_one_half_the_log_odds_decide()
    {
        // Strong evidence on both sides saturates both tails: I is 0.5 for both messages, the log-odds differ.
        Assert.True(EnhancedFilter.Score(0.5, 900) > EnhancedFilter.Score(0.5, 100));
        Assert.True(EnhancedFilter.Score(0.5, -100) < EnhancedFilter.Score(0.5, 0));
        // Log-odds never outweigh a real difference of I.
        Assert.True(EnhancedFilter.Score(0.51, -1e9) > EnhancedFilter.Score(0.5, 1e9));
    }

    [Fact]
    public void A_trained_table_flags_spam_at_the_default_threshold_and_passes_ham()
    {
        var trainer = new EnhancedFilter.Trainer();
        for (int i = 0; i < 20; i++)
        {
            trainer.Add(Features(Message($"\"Best Pharmacy\" <sales{i}@pills.example.biz>", "cheap pills", "text/html",
                $"<b>buy cheap pills now</b> http://pills.example.biz/order?id={i} no prescription offer")), true, 1);
            trainer.Add(Features(Message("\"Ann Lee\" <ann@work.example.org>", "budget", "text/plain",
                $"the project budget meeting is on thursday, notes {i} attached")), false, 1);
        }
        var table = ProbabilityTable.Build(trainer.Build().Select(kv => new KeyValuePair<ulong, float>(kv.Key, (float)kv.Value)).ToList());
        var spam = EnhancedFilter.Classify(table, Features(Message("\"Best Pharmacy\" <x@pills.example.biz>", "pills", "text/html",
            "<b>cheap pills</b> http://pills.example.biz/order no prescription")));
        var ham = EnhancedFilter.Classify(table, Features(Message("\"Ann Lee\" <ann@work.example.org>", "notes", "text/plain",
            "the budget notes for thursday")));
        Assert.True(spam.Probability >= 0.6, $"spam {spam.Probability}");
        Assert.True(ham.Probability < 0.6, $"ham {ham.Probability}");
    }

    [Fact]
    public void A_feature_table_of_another_version_is_not_used_until_a_rebuild()
    {
        using var store = new MemoryStore();
        var features = new Dictionary<ulong, double> { [TokenHash.Of("ct:text/html")] = 0.9 };
        SpamDbStore.Save(store, new Dictionary<string, double> { ["cheap pills"] = 0.95 }, new Dictionary<ulong, double>(), 1, false, features: features);
        Assert.Equal(EnhancedFilter.FeatureVersion, store.Table(SpamDbStore.FeaturesTable).TryGetValue(SpamDbStore.FeatureVersionKey, out var v) ? v : null);
        Assert.Equal(1, SpamDbStore.Load(store).Features.Count);

        // A table written by the earlier feature set (no version record): the Bayesian check falls back to ASSP's formula.
        store.Table(SpamDbStore.FeaturesTable).Remove(SpamDbStore.FeatureVersionKey);
        var loaded = SpamDbStore.Load(store);
        Assert.Equal(0, loaded.Features.Count);
        Assert.True(loaded.HasBayes);
    }
}
