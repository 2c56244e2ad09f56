using Assp.Checks.Decision;
using Assp.Checks.Statistics;
using Assp.Storage;

namespace Assp.Checks.Tests.Statistics;

public class MailStatisticsTests
{
    private static MessageState State(double score, params CheckReport[] reports)
    {
        var st = new MessageState { MessageScore = score };
        st.Reports.AddRange(reports);
        return st;
    }

    [Fact]
    public void Delivered_messages_are_classed_outgoing_noprocessing_whitelisted_spam_passed_or_ham()
    {
        var stats = new MailStatistics();
        stats.MessageDone(new MessageState { RelayOk = true }, MessageOutcome.Delivered, 10);
        stats.MessageDone(new MessageState { NoProcessing = "npRe" }, MessageOutcome.Delivered, 20);
        stats.MessageDone(new MessageState { Whitelisted = "whiteListedIPs" }, MessageOutcome.Delivered, 30);
        stats.MessageDone(new MessageState { SpamFound = true }, MessageOutcome.Delivered, 40);
        stats.MessageDone(new MessageState(), MessageOutcome.Delivered, 50);
        stats.MessageDone(new MessageState(), MessageOutcome.Discarded, 60);
        var c = stats.Snapshot().Counters;
        Assert.Equal(6, c[MailStatistics.Messages]);
        Assert.Equal(5, c[MailStatistics.MessagesDelivered]);
        Assert.Equal(1, c[MailStatistics.MessagesDiscarded]);
        Assert.Equal(150, c[MailStatistics.BytesDelivered]);
        foreach (var name in new[] { MailStatistics.MessagesOutgoing, MailStatistics.MessagesNoProcessing, MailStatistics.MessagesWhitelisted,
                     MailStatistics.MessagesSpamPassed, MailStatistics.MessagesHam })
            Assert.Equal(1, c[name]);
    }

    [Fact]
    public void A_refusal_names_the_blocking_check_and_counts_a_check_once_per_message()
    {
        var stats = new MailStatistics();
        // Before DATA only the refusing check is counted; the message is not (the transaction may go on).
        stats.Refused(State(0, new CheckReport("DoInvalidFormatHelo", "score", 10, "x"), new CheckReport("DoBlackDomain", "block", 25, "y")),
            "mail", temporary: false, inTransaction: false);
        // At DATA the refusal ends the message: every check that reported counts, once.
        stats.Refused(State(70, new CheckReport("bombRe", "score", 20, "a"), new CheckReport("bombRe", "score", 20, "b"),
            new CheckReport("DoBayesian", "block", 50, "c")), "body", temporary: false, inTransaction: true);
        stats.Refused(null, "maxSize", temporary: false, inTransaction: true);
        stats.Refused(State(0), "rcpt", temporary: true, inTransaction: false);
        var s = stats.Snapshot();
        Assert.Equal(2, s.Counters[MailStatistics.Messages]);
        Assert.Equal(2, s.Counters[MailStatistics.MessagesBlocked]);
        Assert.Equal(new Dictionary<string, long> { ["DoBlackDomain"] = 1, ["DoBayesian"] = 1, ["maxSize"] = 1, ["rcpt"] = 1 },
            s.RejectsByReason);
        Assert.Equal(new CheckCount("DoBlackDomain", 1, 1), s.Checks.Single(x => x.Check == "DoBlackDomain"));
        Assert.Equal(new CheckCount("bombRe", 1, 0), s.Checks.Single(x => x.Check == "bombRe"));
        Assert.Equal(new CheckCount("DoBayesian", 1, 1), s.Checks.Single(x => x.Check == "DoBayesian"));
        Assert.DoesNotContain(s.Checks, x => x.Check == "DoInvalidFormatHelo");
        Assert.Equal(70, s.ScoreSum);
        Assert.Equal(1, s.ScoreHistogram.Single(b => b.UpperBound == 75).Count);
    }

    [Fact]
    public void Scores_fall_in_the_first_bucket_whose_bound_they_do_not_exceed()
    {
        var stats = new MailStatistics();
        foreach (var score in new[] { -5.0, 0, 0.5, 5, 250, 251, 1e6 }) stats.ObserveScore(score);
        var h = stats.Snapshot().ScoreHistogram;
        Assert.Equal(2, h.Single(b => b.UpperBound == 0).Count);
        Assert.Equal(2, h.Single(b => b.UpperBound == 5).Count);
        Assert.Equal(1, h.Single(b => b.UpperBound == 250).Count);
        Assert.Equal(2, h.Single(b => double.IsPositiveInfinity(b.UpperBound)).Count);
        Assert.Equal(7, h.Sum(b => b.Count));
    }

    [Fact]
    public void Damaged_saved_entries_are_skipped_when_loading()
    {
        using var store = new MemoryStore();
        var table = store.Table(MailStatistics.TableName);
        table.Set("c:messages", "12");
        table.Set("c:unknown_counter", "5");
        table.Set("c:messages_delivered", "not a number");
        table.Set("check:DoBayesian", "3");
        table.Set("score:99", "1");
        table.Set("reject:DoBlackDomain", "4");
        var stats = new MailStatistics();
        stats.Load(table);
        var s = stats.Snapshot();
        Assert.Equal(12, s.Counters[MailStatistics.Messages]);
        Assert.Equal(0, s.Counters[MailStatistics.MessagesDelivered]);
        Assert.Empty(s.Checks);
        Assert.Equal(4, s.RejectsByReason["DoBlackDomain"]);
        Assert.Equal(0, s.ScoreCount);
    }

    [Fact]
    public void Counting_from_many_threads_loses_nothing()
    {
        var stats = new MailStatistics();
        Parallel.For(0, 10_000, i =>
        {
            stats.ConnectionAccepted();
            stats.MessageDone(State(i % 30, new CheckReport("check" + (i % 7), "score", 1, "")), MessageOutcome.Delivered, 1);
        });
        var s = stats.Snapshot();
        Assert.Equal(10_000, s.Counters[MailStatistics.ConnectionsAccepted]);
        Assert.Equal(10_000, s.Counters[MailStatistics.MessagesDelivered]);
        Assert.Equal(10_000, s.Checks.Sum(c => c.Hits));
        Assert.Equal(10_000, s.ScoreCount);
    }
}
