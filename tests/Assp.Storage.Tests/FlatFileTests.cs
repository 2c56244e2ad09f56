using System.Text;

namespace Assp.Storage.Tests;

public sealed class FlatFileTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly TempFolder _dir = new();
    private readonly ManualClock _clock = new(Now);

    public void Dispose() => _dir.Dispose();

    private SqliteStore OpenStore(string name = "assp.db") =>
        new(new SqliteStoreOptions { Path = _dir.File(name), Clock = _clock });

    /// <summary>Records as ASSP 2.x keeps them in each database (keys and values in ASSP's own layouts).</summary>
    private static Dictionary<string, string> SampleRecords(string table) => table switch
    {
        StoreTables.Whitelist => new()
        {
            ["alice@example.com"] = "1767225600",
            ["bob@example.org,@local.test"] = "1767225700",
            ["bob@example.org,carol@local.test"] = "1767225800",
            ["*@news.example.net"] = "1767225900",
            ["old@example.com,dave@local.test"] = "11767225600",          // a removed private entry (time + 9999999999)
            ["j\u00fcrgen@b\u00fccher.example"] = "1767226000",
        },
        StoreTables.Redlist => new() { ["spammy@list.example"] = "1767225600", ["@bulk.example"] = "1767225601" },
        StoreTables.PersBlack => new() { ["carol@local.test,ads@shop.example"] = "1767225600", ["dave@local.test,*@casino.example"] = "1767225000" },
        StoreTables.LdapList => new() { ["carol@local.test"] = "1767225600", ["@local.test"] = "1767225600", ["vrfy@local.test"] = "1767225600 1" },
        StoreTables.DelayDb => new() { ["5d41402abc4b2a76b9719d911017c592"] = "1767225600", ["7d793037a0760186574b0282f2f435e7"] = "1767225300" },
        StoreTables.DelayDbWhite => new() { ["192.0.2 example.com"] = "1767225600", ["e4d909c290d0fb1ca068ffaddf22cbd0"] = "1767225100" },
        StoreTables.PbBlack => new()
        {
            ["192.0.2.15"] = "1767220000 1767225600 3 45 192.0.2.15 DNSBL:zen.example",
            ["198.51.100"] = "1767220000 1767225000 1 25 198.51.100.7 HELO_invalid",
            ["2001:db8::"] = "1767220000 1767225100 2 50 2001:db8::5 missing_MX",
        },
        StoreTables.PbWhite => new() { ["203.0.113.9"] = "1767220000 1767225600 2 whitelisted_sender", ["203.0.113"] = "1767220000 1767225600 2 ok" },
        StoreTables.PbTrap => new() { ["trap@local.test"] = "1767225600" },
        StoreTables.SpamDb => new() { ["***DB-VERSION***"] = "2", ["cheap viagra"] = "0.9987", ["meeting agenda"] = "0.0123", ["hlo example"] = "0.5" },
        StoreTables.SpamDbHelo => new() { ["bad.helo.example"] = "1767225600" },
        AsspDatabases.HmmDb => new() { ["a b c"] = "0.91", ["x y z"] = "0.12" },
        StoreTables.Griplist => new() { ["192.0.2"] = "0.85", ["198.51.100"] = "0.10", ["x"] = "0.52", ["255.255.255.255"] = "1767225600" },
        _ when table.StartsWith("pbdb.", StringComparison.Ordinal) => new()
        {
            ["192.0.2.1"] = "1767225600 1767225600 0 cache-entry-" + table,
            ["example.com"] = "1767225600 " + table,
        },
        _ => throw new ArgumentException(table),
    };

    /// <summary>What ASSP writes: an empty first line, then key 0x02 value per line, sorted by bytes.</summary>
    private static byte[] AsspFile(IEnumerable<KeyValuePair<string, string>> records)
    {
        var utf8 = new UTF8Encoding(false);
        var ms = new MemoryStream();
        ms.WriteByte((byte)'\n');
        foreach (var (k, v) in records.OrderBy(kv => utf8.GetBytes(kv.Key), ByteOrder.Instance))
        {
            ms.Write(utf8.GetBytes(k));
            ms.WriteByte(2);
            ms.Write(utf8.GetBytes(v));
            ms.WriteByte((byte)'\n');
        }
        return ms.ToArray();
    }

    private sealed class ByteOrder : IComparer<byte[]>
    {
        public static readonly ByteOrder Instance = new();
        public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
    }

    private static Dictionary<string, string> Contents(IStoreTable t) =>
        t.Scan().ToDictionary(kv => kv.Key, kv => kv.Value.Value, StringComparer.Ordinal);

    [Fact]
    public void Every_database_of_an_assp_base_folder_round_trips_byte_for_byte()
    {
        string assp = _dir.File("assp-base");
        var files = new AsspFileLocations().Files().ToList();
        Assert.Equal(23, files.Count);     // 13 PenaltyBox files, 3 of spamdb, 2 of delaydb, 5 lists
        Assert.Contains((StoreTables.PbBlack, "pb/pbdb.black.db"), files);
        Assert.Contains((StoreTables.PbWhite, "pb/pbdb.white.db"), files);
        Assert.Contains((StoreTables.DelayDbWhite, "delaydb.white"), files);
        var originals = new Dictionary<string, byte[]>();
        foreach (var (table, rel) in files)
        {
            string path = Path.Combine(assp, rel);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, originals[table] = AsspFile(SampleRecords(table)));
        }

        using (var store = OpenStore())
        {
            var results = AsspFlatFiles.ImportBaseFolder(store, assp);
            Assert.Equal(files.Count, results.Count);
            Assert.All(results, r => Assert.Empty(r.Problems));
            foreach (var (table, _) in files)
                Assert.Equal(SampleRecords(table), Contents(store.Table(table)));

            // The record time comes from the value where ASSP keeps one there.
            Assert.True(store.Table(StoreTables.Whitelist).TryGet("alice@example.com", out var w));
            Assert.Equal(1767225600, w.Updated);
            Assert.True(store.Table(StoreTables.PbBlack).TryGet("192.0.2.15", out var pb));
            Assert.Equal(1767225600, pb.Updated);
            Assert.True(store.Table(StoreTables.SpamDb).TryGet("cheap viagra", out var sp));
            Assert.Equal(_clock.Seconds, sp.Updated);
            Assert.True(store.Table(StoreTables.Whitelist).TryGet("old@example.com,dave@local.test", out var removed));
            Assert.Equal(_clock.Seconds, removed.Updated);
        }

        // Reopened from disk, exported into a fresh base folder: the very same bytes as ASSP's files.
        string back = _dir.File("exported-base");
        using (var store = OpenStore())
        {
            var results = AsspFlatFiles.ExportBaseFolder(store, back);
            Assert.Equal(files.Count, results.Count);
            Assert.All(results, r => Assert.Equal(0, r.Skipped));
        }
        foreach (var (table, rel) in files)
            Assert.True(originals[table].AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(back, rel))), $"{rel} differs");

        // And a memory store reads the exported folder to the same content.
        var memory = new MemoryStore(_clock);
        AsspFlatFiles.ImportBaseFolder(memory, back);
        foreach (var (table, _) in files) Assert.Equal(SampleRecords(table), Contents(memory.Table(table)));
    }

    [Fact]
    public void Locations_follow_the_assp_cfg_options()
    {
        var files = new AsspFileLocations { Pbdb = "DB:", Spamdb = "db/spamdb", Whitelistdb = "lists/white", Delaydb = "" }.Files().ToList();
        Assert.DoesNotContain(files, f => f.Table.StartsWith("pbdb.", StringComparison.Ordinal));
        Assert.DoesNotContain(files, f => f.Table.StartsWith("delaydb", StringComparison.Ordinal));
        Assert.Contains((StoreTables.Whitelist, "lists/white"), files);
        Assert.Contains((StoreTables.SpamDbHelo, "db/spamdb.helo"), files);
        Assert.Contains((AsspDatabases.HmmDb, "db/HMMdb"), files);
    }

    [Fact]
    public void Import_accepts_what_real_installs_have_and_reports_bad_lines_with_file_and_line()
    {
        // CRLF, no leading empty line, unsorted, a duplicate, blank lines, Latin-1 and UTF-8 bytes, a last line
        // without LF, and five lines ASSP would not load.
        var bytes = new List<byte>();
        void Line(string text, bool latin1 = false, string end = "\r\n") =>
            bytes.AddRange((latin1 ? Encoding.Latin1 : Encoding.UTF8).GetBytes(text + end));
        Line("zeta@example.com\u00021767225600");                   // 1
        Line("alpha@example.com\u00021767225601");                  // 2
        Line("");                                                   // 3 blank: ignored silently
        Line("no separator here");                                  // 4 bad
        Line("m\u00fcller@example.de\u00021767225602", latin1: true);  // 5 Latin-1 byte 0xFC
        Line("j\u00fcrgen@example.de\u00021767225603");             // 6 UTF-8
        Line("\u00021767225604");                                   // 7 bad: empty key
        Line("empty@example.com\u0002");                            // 8 bad: empty value
        Line("two@x\u0002seps\u00021767225605");                    // 9 bad: two separators
        Line("alpha@example.com\u00021767229999", end: "\n");       // 10 duplicate: last wins
        Line("   ");                                                // 11 blank
        Line("cr@x\rinside\u00021", end: "\n");                     // 12 bad: CR inside
        Line("last@example.com\u00021767225606", end: "");          // 13 no final LF
        string file = _dir.File("whitelist");
        File.WriteAllBytes(file, [.. bytes]);

        using var store = OpenStore();
        var t = store.Table(StoreTables.Whitelist);
        t.Set("kept@example.com", "1");
        var result = AsspFlatFiles.ImportFile(t, file, FlatImportMode.Add, clock: _clock);

        Assert.Equal(13, result.Lines);
        Assert.Equal(6, result.Imported);
        Assert.Equal(5, result.Skipped);
        Assert.Equal([4L, 7, 8, 9, 12], result.Problems.Select(p => p.Line));
        Assert.All(result.Problems, p => Assert.StartsWith(file + ":" + p.Line + ": ", p.ToString()));
        Assert.Contains("separator", result.Problems[0].Reason);
        Assert.Equal(new Dictionary<string, string>
        {
            ["kept@example.com"] = "1",
            ["zeta@example.com"] = "1767225600",
            ["alpha@example.com"] = "1767229999",
            ["m\u00fcller@example.de"] = "1767225602",
            ["j\u00fcrgen@example.de"] = "1767225603",
            ["last@example.com"] = "1767225606",
        }, Contents(t));
    }

    [Fact]
    public void Overlong_lines_are_skipped_and_the_rest_still_imports()
    {
        string file = _dir.File("redlist");
        using (var f = File.Create(file))
        {
            f.Write("\nfirst@x\u00021767225600\n"u8);
            f.Write(Encoding.ASCII.GetBytes(new string('a', AsspFlatFiles.MaxLineBytes + 100_000) + "\u00021\n"));
            f.Write("second@x\u00021767225601\n"u8);
        }
        var t = new MemoryStore().Table(StoreTables.Redlist);
        var r = AsspFlatFiles.ImportFile(t, file);
        Assert.Equal(2, r.Imported);
        Assert.Equal(1, r.Skipped);
        Assert.Equal(3, r.Problems.Single().Line);
        Assert.True(t.ContainsKey("second@x"));
    }

    [Fact]
    public void Import_dir_replaces_with_rpl_then_adds_add_files()
    {
        string import = _dir.File("importDB");
        Directory.CreateDirectory(import);
        File.WriteAllBytes(Path.Combine(import, "whitelist.rpl"), AsspFile(new Dictionary<string, string> { ["c@x"] = "1767225600", ["d@x"] = "1767225601" }));
        File.WriteAllBytes(Path.Combine(import, "whitelist.add"), AsspFile(new Dictionary<string, string> { ["e@x"] = "1767225602", ["c@x"] = "1767225699" }));
        File.WriteAllBytes(Path.Combine(import, "redlist.add"), AsspFile(new Dictionary<string, string> { ["f@x"] = "1767225603" }));
        File.WriteAllBytes(Path.Combine(import, "pbdb.black.db.rpl"), AsspFile(SampleRecords(StoreTables.PbBlack)));
        File.WriteAllText(Path.Combine(import, "notes.txt"), "not a database");

        using var store = OpenStore();
        store.Table(StoreTables.Whitelist).Set("a@x", "1");
        store.Table(StoreTables.Whitelist).Set("b@x", "1");
        store.Table(StoreTables.Redlist).Set("g@x", "1");
        store.Table(StoreTables.PbBlack).Set("10.0.0.1", "1 1 1 1 10.0.0.1 old");
        store.Flush();

        var results = AsspFlatFiles.ImportDbDir(store, import, renameToOk: true);
        Assert.Equal(["pbdb.black.db", "redlist", "whitelist", "whitelist"], results.Select(r => r.Table));
        Assert.Equal([FlatImportMode.Replace, FlatImportMode.Add], results.Where(r => r.Table == "whitelist").Select(r => r.Mode));
        Assert.Equal(new Dictionary<string, string> { ["c@x"] = "1767225699", ["d@x"] = "1767225601", ["e@x"] = "1767225602" },
            Contents(store.Table(StoreTables.Whitelist)));
        Assert.Equal(new Dictionary<string, string> { ["f@x"] = "1767225603", ["g@x"] = "1" }, Contents(store.Table(StoreTables.Redlist)));
        Assert.Equal(SampleRecords(StoreTables.PbBlack), Contents(store.Table(StoreTables.PbBlack)));
        Assert.True(File.Exists(Path.Combine(import, "whitelist.rpl.OK")));
        Assert.False(File.Exists(Path.Combine(import, "whitelist.add")));
        Assert.True(File.Exists(Path.Combine(import, "notes.txt")));
        Assert.Empty(AsspFlatFiles.ImportDbDir(store, import));    // nothing left to import
    }

    [Fact]
    public void Export_dir_writes_one_assp_file_per_table_that_imports_back()
    {
        string export = _dir.File("exportDB");
        using (var store = OpenStore())
        {
            foreach (var table in new[] { StoreTables.Whitelist, StoreTables.PbBlack, StoreTables.DelayDbWhite, StoreTables.Griplist })
                foreach (var (k, v) in SampleRecords(table)) store.Table(table).Set(k, v);
            var results = AsspFlatFiles.ExportDbDir(store, export);
            Assert.Equal(4, results.Count);
        }
        Assert.Equal(["delaydb.white", "griplist", "pbdb.black.db", "whitelist"],
            Directory.GetFiles(export).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        foreach (var table in new[] { StoreTables.Whitelist, StoreTables.PbBlack, StoreTables.DelayDbWhite, StoreTables.Griplist })
        {
            byte[] bytes = File.ReadAllBytes(Path.Combine(export, table));
            Assert.Equal((byte)'\n', bytes[0]);
            Assert.Equal(AsspFile(SampleRecords(table)), bytes);
        }

        // ASSP's way back: the exported file dropped into importDBDir as <table>.rpl.
        string import = _dir.File("importDB");
        Directory.CreateDirectory(import);
        File.Copy(Path.Combine(export, "whitelist"), Path.Combine(import, "whitelist.rpl"));
        var memory = new MemoryStore();
        memory.Table(StoreTables.Whitelist).Set("stale@x", "1");
        AsspFlatFiles.ImportDbDir(memory, import);
        Assert.Equal(SampleRecords(StoreTables.Whitelist), Contents(memory.Table(StoreTables.Whitelist)));
    }

    [Fact]
    public void Export_skips_records_assp_could_not_read_back_and_says_which()
    {
        var store = new MemoryStore();
        var t = store.Table(StoreTables.Redlist);
        t.Set("good@x", "1767225600");
        t.Set("bad\nkey", "1");
        t.Set("badvalue@x", "a\u0002b");
        t.Set("empty@x", "");
        var r = AsspFlatFiles.ExportFile(t, _dir.File("redlist"));
        Assert.Equal(1, r.Written);
        Assert.Equal(3, r.Skipped);
        Assert.Contains(r.Problems, p => p.Reason.Contains("badvalue@x"));
        Assert.Equal("\ngood@x\u00021767225600\n", File.ReadAllText(_dir.File("redlist")));
        Assert.False(File.Exists(_dir.File("redlist.tmp")));
    }

    [Fact]
    public void Big_imports_report_progress()
    {
        string file = _dir.File("delaydb");
        var records = Enumerable.Range(0, 120_000).ToDictionary(i => $"{i:x32}", i => (1767225600 - i).ToString());
        File.WriteAllBytes(file, AsspFile(records));
        var reports = new List<FlatFileProgress>();
        using var store = OpenStore();
        var result = AsspFlatFiles.ImportFile(store.Table(StoreTables.DelayDb), file, FlatImportMode.Replace, new SyncProgress(reports.Add));
        Assert.Equal(120_000, result.Imported);
        Assert.True(reports.Count >= 3, $"{reports.Count} reports");
        Assert.Equal(reports.Select(p => p.BytesRead).Order(), reports.Select(p => p.BytesRead));
        Assert.Equal(new FileInfo(file).Length, reports[^1].BytesRead);
        Assert.Equal(1.0, reports[^1].Fraction);
        Assert.Equal(120_000, reports[^1].Records);
        Assert.All(reports, p => Assert.Equal(StoreTables.DelayDb, p.Table));
        Assert.Equal(120_000, store.Table(StoreTables.DelayDb).Count);
    }

    [Theory]
    [InlineData("whitelist", "1767225600", 1767225600L)]
    [InlineData("ldaplist", "1767225600 1", 1767225600L)]
    [InlineData("pbdb.black.db", "1767220000 1767225600 3 45 1.2.3.4 x", 1767225600L)]
    [InlineData("pbdb.white.db", "1767220000 nonsense", 1767220000L)]
    [InlineData("griplist", "0.85", null)]
    [InlineData("spamdb", "0.9987", null)]
    [InlineData("whitelist", "11767225600", null)]          // removal marker
    [InlineData("whitelist", "1999999999", null)]           // in the future
    [InlineData("whitelist", "123", null)]
    public void Record_time_from_the_value(string table, string value, long? expected) =>
        Assert.Equal(expected, AsspFlatFiles.UpdatedFromValue(table, value, new ManualClock(Now)));

    /// <summary>Progress&lt;T&gt; posts to the thread pool; tests want the reports in order, at once.</summary>
    private sealed class SyncProgress(Action<FlatFileProgress> report) : IProgress<FlatFileProgress>
    {
        public void Report(FlatFileProgress value) => report(value);
    }
}
