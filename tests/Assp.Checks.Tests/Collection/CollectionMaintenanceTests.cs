using Assp.Checks.Collection;
using Assp.Checks.Decision;

namespace Assp.Checks.Tests.Collection;

public class CollectionMaintenanceTests
{
    private static readonly DateTimeOffset Now = new(2026, 6, 1, 1, 0, 0, TimeSpan.Zero);

    private static string Put(Assp.Config.ConfigSnapshot cfg, string option, string name, double daysOld)
    {
        var dir = CorpusFolders.Resolve(cfg, option)!;
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, name);
        File.WriteAllText(path, "Subject: x\r\n\r\nx\r\n");
        File.SetLastWriteTimeUtc(path, (Now - TimeSpan.FromDays(daysOld)).UtcDateTime);
        return path;
    }

    [Fact]
    public void Files_past_their_folder_age_are_deleted_and_younger_ones_stay()
    {
        var cfg = TestConfig.Create(("MaxNoBayesFileAge", "10 20 30"), ("MaxBayesFileAge", "5 7"), ("MaxCorrectedDays", "100"), ("MaintBayesCollection", "1"));
        var okOld = Put(cfg, "incomingOkMail", "a.eml", 11);
        var okNew = Put(cfg, "incomingOkMail", "b.eml", 9);
        var discardedKept = Put(cfg, "discarded", "c.eml", 15);
        var virusOld = Put(cfg, "viruslog", "d.eml", 31);
        var spamOld = Put(cfg, "spamlog", "e.eml", 6);
        var hamKept = Put(cfg, "notspamlog", "f.eml", 6);
        var correctedKept = Put(cfg, "correctednotspam", "g.eml", 99);
        var correctedOld = Put(cfg, "correctedspam", "h.eml", 101);

        var removed = CollectionMaintenance.Run(cfg, Now);

        Assert.False(File.Exists(okOld));
        Assert.True(File.Exists(okNew));
        Assert.True(File.Exists(discardedKept));
        Assert.False(File.Exists(virusOld));
        Assert.False(File.Exists(spamOld));
        Assert.True(File.Exists(hamKept));
        Assert.True(File.Exists(correctedKept));
        Assert.False(File.Exists(correctedOld));
        Assert.Equal(1, removed["spamlog"]);
        Assert.Equal(0, removed["notspamlog"]);
    }

    [Fact]
    public void Without_MaintBayesCollection_the_corpus_folders_are_left_alone()
    {
        var cfg = TestConfig.Create(("MaxBayesFileAge", "5"), ("MaintBayesCollection", "0"), ("MaxNoBayesFileAge", "0"));
        var spamOld = Put(cfg, "spamlog", "e.eml", 60);
        var okOld = Put(cfg, "incomingOkMail", "a.eml", 60);
        CollectionMaintenance.Run(cfg, Now);
        Assert.True(File.Exists(spamOld));
        Assert.True(File.Exists(okOld));
    }

    [Fact]
    public void An_age_of_0_keeps_the_newest_MaxFiles_files()
    {
        var cfg = TestConfig.Create(("MaxBayesFileAge", "0"), ("MaintBayesCollection", "1"), ("MaxFiles", "3"));
        var paths = Enumerable.Range(1, 5).Select(i => Put(cfg, "spamlog", $"{i}.eml", i)).ToList();
        var removed = CollectionMaintenance.Run(cfg, Now);
        Assert.Equal(2, removed["spamlog"]);
        Assert.True(File.Exists(paths[0]) && File.Exists(paths[1]) && File.Exists(paths[2]));
        Assert.False(File.Exists(paths[3]) || File.Exists(paths[4]));
    }

    [Fact]
    public void Folder_rules_follow_the_switches()
    {
        var cfg = TestConfig.Create(("SpamLog", "0"), ("NonSpamLog", "2"), ("incomingOkMail", ""));
        Assert.Null(CorpusFolders.FolderOptionFor(cfg, CollectTarget.Spam));
        Assert.Equal("notspamlog", CorpusFolders.FolderOptionFor(cfg, CollectTarget.NotSpam));
        Assert.Null(CorpusFolders.FolderOptionFor(cfg, CollectTarget.OkMail));
        Assert.Equal("viruslog", CorpusFolders.FolderOptionFor(cfg, CollectTarget.Quarantine));
        Assert.Equal("discarded", CorpusFolders.FolderOptionFor(cfg, CollectTarget.DiscardAndCopy));
        Assert.Null(CorpusFolders.FolderOptionFor(cfg, CollectTarget.None));
        Assert.Equal(Path.Combine(cfg.BaseDirectory, "errors", "spam"), CorpusFolders.Resolve(cfg, "correctedspam"));
    }
}
