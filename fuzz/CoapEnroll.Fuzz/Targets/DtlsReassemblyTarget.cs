using CoapEnroll.Dtls;

namespace CoapEnroll.Fuzz;

/// <summary>
/// Handshake fragments and reassembly (RFC 6347 §4.2.3): a stream of fragments (12-byte header and bytes) into a
/// <see cref="HandshakeReassembler"/> configured as the server's, checked against a plain model of the rules: messages come
/// out once each, in message_seq order, with exactly the bytes the accepted fragments carried; a fragment whose bytes
/// differ from what is held for the same offsets is refused.
/// </summary>
internal sealed class DtlsReassemblyTarget : IFuzzTarget
{
    private const int MaxMessageLength = 64 * 1024;
    private const int MaxMessagesAhead = 8;

    public string Name => "dtls-reassembly";

    public string Description => "HandshakeHeader.TryRead + HandshakeReassembler.Add/TryTakeNext against a model";

    public void Run(ReadOnlySpan<byte> input)
    {
        var reassembler = new HandshakeReassembler(0, MaxMessageLength, MaxMessagesAhead);
        var model = new Dictionary<ushort, (HandshakeType Type, byte[] Body, bool[] Held)>();
        ushort next = 0;
        while (HandshakeHeader.TryRead(input, out HandshakeHeader header, out ReadOnlySpan<byte> fragment, out int consumed))
        {
            input = input[consumed..];
            HandshakeFragmentStatus expected = Expect(model, next, header, fragment);
            HandshakeFragmentStatus actual = reassembler.Add(header, fragment);
            if (actual != expected)
            {
                throw new FuzzInvariantException($"fragment {header}: reassembler says {actual}, the model {expected}");
            }

            while (reassembler.TryTakeNext(out ReassembledHandshakeMessage? message))
            {
                if (message.MessageSeq != next || !model.Remove(next, out var held) || held.Held.Contains(false) ||
                    message.Type != held.Type || !message.Body.AsSpan().SequenceEqual(held.Body))
                {
                    throw new FuzzInvariantException($"message {message.MessageSeq} came out, but the model holds no complete message {next} like it");
                }

                next++;
            }

            if (model.TryGetValue(next, out var pending) && !pending.Held.Contains(false))
            {
                throw new FuzzInvariantException($"message {next} is complete but was not handed out");
            }
        }
    }

    private static HandshakeFragmentStatus Expect(Dictionary<ushort, (HandshakeType Type, byte[] Body, bool[] Held)> model, ushort next, HandshakeHeader header, ReadOnlySpan<byte> fragment)
    {
        if (header.MessageSeq < next)
        {
            return HandshakeFragmentStatus.Retransmission;
        }

        if (header.MessageSeq - next >= MaxMessagesAhead)
        {
            return HandshakeFragmentStatus.TooFarAhead;
        }

        if (header.Length > MaxMessageLength)
        {
            return HandshakeFragmentStatus.TooLarge;
        }

        if (!model.TryGetValue(header.MessageSeq, out var message))
        {
            message = (header.Type, new byte[header.Length], new bool[header.Length]);
            model.Add(header.MessageSeq, message);
        }
        else if (message.Type != header.Type || message.Body.Length != header.Length)
        {
            return HandshakeFragmentStatus.Inconsistent;
        }

        for (int i = 0; i < fragment.Length; i++)
        {
            if (message.Held[header.FragmentOffset + i] && message.Body[header.FragmentOffset + i] != fragment[i])
            {
                return HandshakeFragmentStatus.Inconsistent;
            }
        }

        fragment.CopyTo(message.Body.AsSpan(header.FragmentOffset));
        Array.Fill(message.Held, true, header.FragmentOffset, fragment.Length);
        return HandshakeFragmentStatus.Accepted;
    }
}
