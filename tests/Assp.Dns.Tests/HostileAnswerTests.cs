using System.Buffers.Binary;
using System.Net;

namespace Assp.Dns.Tests;

/// <summary>Garbage, lies and traps from a server: each is dropped (the lookup then times out or fails), nothing throws.</summary>
public sealed class HostileAnswerTests
{
    /// <summary>A response to <paramref name="query"/>: same ID and question (unless told otherwise), then <paramref name="tail"/> as the answer section.</summary>
    private static byte[] Answer(byte[] query, byte[] tail, int answers = 1, ushort? id = null, ushort flags = 0x8180)
    {
        int qEnd = 12;
        while (query[qEnd] != 0) qEnd += query[qEnd] + 1;
        qEnd += 5;
        var p = new byte[qEnd + tail.Length];
        query.AsSpan(0, qEnd).CopyTo(p);
        BinaryPrimitives.WriteUInt16BigEndian(p, id ?? BinaryPrimitives.ReadUInt16BigEndian(query));
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), flags);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(6), (ushort)answers);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(8), 0);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(10), 0);
        tail.CopyTo(p, qEnd);
        return p;
    }

    /// <summary>An A record for the question name (pointer to offset 12) with the given TTL and address.</summary>
    private static byte[] ARecord(uint ttl, byte last) => [0xC0, 12, 0, 1, 0, 1, (byte)(ttl >> 24), (byte)(ttl >> 16), (byte)(ttl >> 8), (byte)ttl, 0, 4, 192, 0, 2, last];

    private static async Task<(DnsResponse Result, DnsResolver Resolver)> Ask(Func<byte[], IEnumerable<byte[]>> server, int timeoutMs = 2000)
    {
        using var fake = new FakeDnsServer(server);
        var r = new DnsResolver(new DnsResolverOptions { Servers = [fake.EndPoint], Timeout = TimeSpan.FromMilliseconds(timeoutMs), Retransmit = TimeSpan.FromMilliseconds(timeoutMs), Retries = 0 });
        return (await r.QueryAsync("victim.test", DnsRecordType.A), r);
    }

    [Fact]
    public async Task Good_answer_is_taken()
    {
        var (res, _) = await Ask(q => [Answer(q, ARecord(60, 7))]);
        Assert.Equal("192.0.2.7", res.Addresses.Single().ToString());
    }

    [Fact]
    public async Task Wrong_id_is_ignored_and_the_right_one_still_wins()
    {
        var (res, r) = await Ask(q => [Answer(q, ARecord(60, 66), id: (ushort)(BinaryPrimitives.ReadUInt16BigEndian(q) ^ 0x5555)), Answer(q, ARecord(60, 7))]);
        Assert.Equal("192.0.2.7", res.Addresses.Single().ToString());
        Assert.Equal(1, r.PacketsRejected);
    }

    [Fact]
    public async Task Only_wrong_ids_time_out()
    {
        var (res, _) = await Ask(q => Enumerable.Range(1, 20).Select(i => Answer(q, ARecord(60, 1), id: (ushort)(BinaryPrimitives.ReadUInt16BigEndian(q) + i))));
        Assert.Equal(DnsStatus.Timeout, res.Status);
    }

    [Fact]
    public async Task Answer_to_another_question_is_ignored()
    {
        var (res, r) = await Ask(q =>
        {
            var a = Answer(q, ARecord(60, 1));
            a[13] ^= 0x20 ^ 0x01; // change one letter of the question name to another letter
            return [a];
        });
        Assert.Equal(DnsStatus.Timeout, res.Status);
        Assert.Equal(1, r.PacketsRejected);
    }

    [Fact]
    public async Task Query_echoed_back_without_QR_is_ignored()
    {
        var (res, _) = await Ask(q => [q]);
        Assert.Equal(DnsStatus.Timeout, res.Status);
    }

    [Fact]
    public async Task Truncated_packets_are_ignored()
    {
        var (res, r) = await Ask(q =>
        {
            var a = Answer(q, ARecord(60, 1));
            return [a[..5], a[..(a.Length - 3)]];
        });
        Assert.Equal(DnsStatus.Timeout, res.Status);
        Assert.Equal(2, r.PacketsRejected);
    }

    [Fact]
    public async Task Compression_loop_is_rejected()
    {
        // Answer owner is a pointer to itself.
        var (res, r) = await Ask(q =>
        {
            int at = Answer(q, []).Length;
            return [Answer(q, [(byte)(0xC0 | at >> 8), (byte)at, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 1, 2, 3, 4])];
        });
        Assert.Equal(DnsStatus.Timeout, res.Status);
        Assert.Equal(1, r.PacketsRejected);
    }

    [Fact]
    public async Task Record_names_outside_the_question_are_dropped()
    {
        // An extra A record for another name (the classic poisoning attempt) must not appear in the result.
        var (res, _) = await Ask(q =>
        {
            byte[] other = [5, (byte)'e', (byte)'v', (byte)'i', (byte)'l', (byte)'x', 0, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 6, 6, 6, 6];
            return [Answer(q, [.. ARecord(60, 7), .. other], answers: 2)];
        });
        Assert.Equal(["192.0.2.7"], res.Addresses.Select(a => a.ToString()));
    }

    [Fact]
    public async Task Servfail_is_reported_and_cached_briefly()
    {
        var (res, r) = await Ask(q => [Answer(q, [], answers: 0, flags: 0x8182)]);
        Assert.Equal(DnsStatus.ServerFailure, res.Status);
        Assert.True((await r.QueryAsync("victim.test", DnsRecordType.A)).FromCache);
    }

    [Fact]
    public async Task Zero_ttl_flood_of_names_keeps_the_cache_bounded()
    {
        using var fake = new FakeDnsServer(q => [Answer(q, ARecord(0, 1))]);
        var r = new DnsResolver(new DnsResolverOptions { Servers = [fake.EndPoint], Timeout = TimeSpan.FromSeconds(2), CacheSize = 100 });
        var tasks = Enumerable.Range(0, 500).Select(i => r.QueryAsync($"n{i}.flood.test", DnsRecordType.A));
        var all = await Task.WhenAll(tasks);
        Assert.All(all, x => Assert.True(x.Status == DnsStatus.Success, x.Status + " " + x.Error));
        Assert.True(r.Cache.Count <= 100, $"cache holds {r.Cache.Count}");
    }

    [Theory]
    [InlineData("00")]                                  // shorter than a header
    [InlineData("0001818000010001000000000000010001")] // question name runs off the end
    [InlineData("000181800001000100000000c00c00010001")] // question is a pointer to itself
    [InlineData("0001818000000001000000004000")]          // extended label type
    [InlineData("000181800000ffff00000000")]              // claims 65535 answers
    [InlineData("00018180000000010000000000000100010000003c00ff01")] // rdlength past the end
    [InlineData("00018180000000010000000000000100010000003c000301020304")] // A record with 3 bytes
    [InlineData("0001818000000001000000000000100001000000000003ff6161")] // TXT string longer than the record
    public void Parser_rejects_without_throwing(string hex)
    {
        var err = DnsMessageReader.TryParse(Convert.FromHexString(hex), out var msg);
        Assert.NotEqual(DnsParseError.None, err);
        Assert.Null(msg);
    }

    [Fact]
    public void Oversized_names_are_rejected()
    {
        // 5 labels of 63 bytes = 320 bytes > 255.
        var p = new List<byte> { 0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0 };
        for (int i = 0; i < 5; i++)
        {
            p.Add(63);
            p.AddRange(Enumerable.Repeat((byte)'a', 63));
        }
        p.AddRange([0, 0, 1, 0, 1]);
        Assert.Equal(DnsParseError.NameTooLong, DnsMessageReader.TryParse(p.ToArray(), out _));
    }

    [Fact]
    public void Pointer_chain_forward_is_a_loop()
    {
        // Two pointers pointing at each other.
        byte[] p = [0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 14, 0xC0, 12, 0, 1, 0, 1];
        Assert.Equal(DnsParseError.PointerLoop, DnsMessageReader.TryParse(p, out _));
    }

    [Fact]
    public void Random_garbage_never_throws()
    {
        var rng = new Random(12345);
        var buf = new byte[600];
        for (int i = 0; i < 20_000; i++)
        {
            rng.NextBytes(buf);
            int len = rng.Next(0, buf.Length);
            if (len > 12) buf[4] = 0; // mostly one question, so the parser goes deeper
            if (len > 12) buf[5] = (byte)rng.Next(0, 2);
            DnsMessageReader.TryParse(buf.AsSpan(0, len), out _);
        }
    }

    [Fact]
    public void Names_with_odd_bytes_are_escaped()
    {
        byte[] p = [0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 3, (byte)'a', (byte)'.', 0, 0, 0, 1, 0, 1];
        Assert.Equal(DnsParseError.None, DnsMessageReader.TryParse(p, out var msg));
        Assert.Equal("a\\046\\000", msg!.QuestionName);
    }

    [Fact]
    public void Query_round_trips()
    {
        var buf = new byte[DnsMessageWriter.MaxQuerySize];
        int n = DnsMessageWriter.WriteQuery(buf, 0xBEEF, "mail.example.test", DnsRecordType.MX, 1232);
        Assert.Equal(DnsParseError.None, DnsMessageReader.TryParse(buf.AsSpan(0, n), out var msg));
        Assert.Equal((0xBEEF, "mail.example.test", DnsRecordType.MX), (msg!.Id, msg.QuestionName, msg.QuestionType));
        Assert.Equal(-1, DnsMessageWriter.WriteQuery(buf, 1, "a..b", DnsRecordType.A, 0));
        Assert.True(IPAddress.Loopback is not null);
    }
}
