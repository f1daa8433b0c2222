using System.Security.Cryptography;

namespace CoapEnroll.Dtls.Tests;

public class HandshakeFramingTests
{
    private static (HandshakeHeader Header, byte[] Fragment) Parse(byte[] wire)
    {
        Assert.True(HandshakeHeader.TryRead(wire, out HandshakeHeader h, out ReadOnlySpan<byte> f, out int n));
        Assert.Equal(wire.Length, n);
        return (h, f.ToArray());
    }

    [Fact]
    public void Header_RoundTrip_AndRejectsBadFragmentBounds()
    {
        byte[] wire = new byte[12 + 3];
        HandshakeFragmenter.WriteFragment(wire, HandshakeType.Certificate, 7, [1, 2, 3, 4, 5], 1, 3);
        Assert.Equal("0b000005000700000100000302030400"[..30], Convert.ToHexStringLower(wire));
        (HandshakeHeader h, byte[] f) = Parse(wire);
        Assert.Equal(new HandshakeHeader(HandshakeType.Certificate, 5, 7, 1, 3), h);
        Assert.Equal(new byte[] { 2, 3, 4 }, f);
        for (int i = 0; i < wire.Length; i++)
        {
            Assert.False(HandshakeHeader.TryRead(wire.AsSpan(0, i), out _, out _, out _));
        }

        // offset + fragment_length > length
        byte[] bad = (byte[])wire.Clone();
        bad[8] = 3;
        Assert.False(HandshakeHeader.TryRead(bad, out _, out _, out _));
    }

    [Fact]
    public void Fragment_ShuffledDuplicatedOverlapping_Reassembles()
    {
        var random = new Random(42);
        byte[] body = RandomNumberGenerator.GetBytes(1000);
        var fragments = HandshakeFragmenter.Fragment(HandshakeType.Certificate, 3, body, 97);
        Assert.Equal(11, fragments.Count);
        Assert.All(fragments, f => Assert.True(f.Length <= 12 + 97));

        // Add overlapping fragments of other sizes plus duplicates, shuffle.
        var all = new List<byte[]>(fragments);
        all.AddRange(HandshakeFragmenter.Fragment(HandshakeType.Certificate, 3, body, 150));
        all.Add(fragments[4]);
        byte[] odd = new byte[12 + 300];
        HandshakeFragmenter.WriteFragment(odd, HandshakeType.Certificate, 3, body, 333, 300);
        all.Add(odd);
        all = [.. all.OrderBy(_ => random.Next())];

        var r = new HandshakeReassembler(nextMessageSeq: 3);
        int taken = 0;
        foreach (byte[] wire in all)
        {
            (HandshakeHeader h, byte[] f) = Parse(wire);
            Assert.Equal(taken == 0 ? HandshakeFragmentStatus.Accepted : HandshakeFragmentStatus.Retransmission, r.Add(h, f));
            while (r.TryTakeNext(out ReassembledHandshakeMessage? m))
            {
                Assert.Equal(HandshakeType.Certificate, m.Type);
                Assert.Equal((ushort)3, m.MessageSeq);
                Assert.Equal(body, m.Body);
                taken++;
            }
        }

        Assert.Equal(1, taken);
        Assert.Equal((ushort)4, r.NextMessageSeq);
    }

    [Fact]
    public void Reassembler_YieldsInOrder_BuffersAhead()
    {
        var r = new HandshakeReassembler();
        byte[] m1 = HandshakeFragmenter.Fragment(HandshakeType.ServerHelloDone, 1, [], 100)[0];
        byte[] m0 = HandshakeFragmenter.Fragment(HandshakeType.ServerHello, 0, [1, 2], 100)[0];
        (HandshakeHeader h1, byte[] f1) = Parse(m1);
        Assert.Equal(HandshakeFragmentStatus.Accepted, r.Add(h1, f1));
        Assert.False(r.TryTakeNext(out _));
        (HandshakeHeader h0, byte[] f0) = Parse(m0);
        Assert.Equal(HandshakeFragmentStatus.Accepted, r.Add(h0, f0));
        Assert.True(r.TryTakeNext(out ReassembledHandshakeMessage? a));
        Assert.Equal(HandshakeType.ServerHello, a.Type);
        Assert.True(r.TryTakeNext(out ReassembledHandshakeMessage? b));
        Assert.Equal(HandshakeType.ServerHelloDone, b.Type);
        Assert.Empty(b.Body);
        Assert.False(r.TryTakeNext(out _));
        Assert.Equal(HandshakeFragmentStatus.Retransmission, r.Add(h0, f0));
    }

    [Fact]
    public void Reassembler_RejectsInconsistentAndOversized()
    {
        var r = new HandshakeReassembler(maxMessageLength: 1000, maxMessagesAhead: 4);
        byte[] body = RandomNumberGenerator.GetBytes(200);
        (HandshakeHeader h, byte[] f) = Parse(HandshakeFragmenter.Fragment(HandshakeType.Certificate, 0, body, 100)[0]);
        Assert.Equal(HandshakeFragmentStatus.Accepted, r.Add(h, f));
        // Same message_seq, other type.
        Assert.Equal(HandshakeFragmentStatus.Inconsistent, r.Add(h with { Type = HandshakeType.Finished }, f));
        // Same message_seq, other total length.
        Assert.Equal(HandshakeFragmentStatus.Inconsistent, r.Add(h with { Length = 300 }, f));
        // Overlapping bytes that differ.
        byte[] changed = (byte[])f.Clone();
        changed[50] ^= 1;
        Assert.Equal(HandshakeFragmentStatus.Inconsistent, r.Add(h, changed));
        // Fragment length field disagreeing with the data given.
        Assert.Equal(HandshakeFragmentStatus.Inconsistent, r.Add(h, f.AsSpan(0, 10)));
        // Too large and too far ahead.
        Assert.Equal(HandshakeFragmentStatus.TooLarge, r.Add(new HandshakeHeader(HandshakeType.Certificate, 1001, 1, 0, 0), []));
        Assert.Equal(HandshakeFragmentStatus.TooFarAhead, r.Add(new HandshakeHeader(HandshakeType.Certificate, 10, 4, 0, 0), []));
        // The original message still completes with the second half.
        (HandshakeHeader h2, byte[] f2) = Parse(HandshakeFragmenter.Fragment(HandshakeType.Certificate, 0, body, 100)[1]);
        Assert.Equal(HandshakeFragmentStatus.Accepted, r.Add(h2, f2));
        Assert.True(r.TryTakeNext(out ReassembledHandshakeMessage? m));
        Assert.Equal(body, m.Body);
    }

    [Fact]
    public void Transcript_UsesUnfragmentedHeaders()
    {
        byte[] body = RandomNumberGenerator.GetBytes(500);
        var t = new HandshakeTranscript();
        t.Append(HandshakeType.Certificate, 2, body);
        byte[] expected = [0x0b, 0x00, 0x01, 0xf4, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0xf4, .. body];
        Assert.Equal(expected, t.Messages.ToArray());
        Assert.Equal(SHA256.HashData(expected), t.GetHash(HashAlgorithmName.SHA256));
        int checkpoint = t.Length;
        t.Append(new ReassembledHandshakeMessage(HandshakeType.ServerHelloDone, 3, []));
        Assert.Equal(SHA256.HashData(expected), t.GetHash(HashAlgorithmName.SHA256, checkpoint));
        Assert.NotEqual(SHA256.HashData(expected), t.GetHash(HashAlgorithmName.SHA256));
        t.Reset();
        Assert.Equal(0, t.Length);
        Assert.Throws<InvalidOperationException>(() => new HandshakeTranscript(100).Append(HandshakeType.Certificate, 0, new byte[100]));
    }
}
