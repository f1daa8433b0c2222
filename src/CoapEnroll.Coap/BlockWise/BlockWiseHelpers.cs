using System.Numerics;
using System.Security.Cryptography;

namespace CoapEnroll.Coap;

/// <summary>Block-size arithmetic and option handling shared by the server layer and the client.</summary>
internal static class BlockWiseHelpers
{
    /// <summary>The largest block (SZX 6, RFC 7959 §2.2).</summary>
    public const int MaxBlockSize = 1024;

    /// <summary>The smallest block (SZX 0).</summary>
    public const int MinBlockSize = 16;

    // Room reserved for options the block-wise code may add to a message whose size it is planning:
    // Block1/Block2 at most 3 bytes of value, Size1/Size2 at most 4, ETag and Request-Tag at most 8,
    // each with a one-byte header and up to two bytes of extended delta (RFC 7252 §3.1).
    private const int BlockOptionReserve = 1 + 2 + 3;
    private const int SizeOptionReserve = 1 + 2 + 4;
    private const int OpaqueOptionReserve = 1 + 2 + 8;

    /// <summary>The largest power of two from 16 to 1024 not above <paramref name="limit"/> (16 when the limit is smaller).</summary>
    public static int FloorBlockSize(int limit)
    {
        if (limit < MinBlockSize)
        {
            return MinBlockSize;
        }

        return limit >= MaxBlockSize ? MaxBlockSize : (int)BitOperations.RoundUpToPowerOf2((uint)limit + 1) >> 1;
    }

    /// <summary>
    /// The largest block whose message still fits <paramref name="maxMessageSize"/>: the message's
    /// own options, a token of the maximum length, the payload marker, and room for the block-wise
    /// options that may be added (<paramref name="opaqueOptions"/> ETag/Request-Tag slots).
    /// </summary>
    public static int FitBlockSize(CoapMessage withoutPayload, int maxMessageSize, int opaqueOptions)
    {
        // The header, a token of the longest length and the options, as GetEncodedLength counts them.
        int message = 4 + CoapMessage.MaxTokenLength + CoapMessageEncoder.GetOptionsLength(withoutPayload.Options);
        int overhead = message + 1 + (2 * BlockOptionReserve) + SizeOptionReserve + (opaqueOptions * OpaqueOptionReserve);
        return FloorBlockSize(maxMessageSize - overhead);
    }

    /// <summary>
    /// True when the message carries the Block option <paramref name="number"/> with a value that
    /// does not decode: the reserved SZX 7, which in a request "MUST lead to a 4.00 Bad Request"
    /// (RFC 7959 §2.2). <see cref="CoapMessage.Block1"/> reports such an option as absent.
    /// </summary>
    public static bool HasInvalidBlockOption(CoapMessage message, int number)
        => message.Options.TryGet(number, out var option) && (!option.TryGetUInt(out uint value) || !BlockOption.TryDecode(value, out _));

    /// <summary>
    /// An ETag for a representation served block-wise: 8 bytes of SHA-256 over code, Content-Format
    /// and payload. Equal bodies get equal ETags and different ones, with overwhelming probability,
    /// different ones, which is what RFC 9175 §3.8 asks of a server using Block2 (a hash cannot
    /// make that a certainty; 64 bits make a collision within one transfer negligible).
    /// </summary>
    public static byte[] ComputeETag(CoapMessage response)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> header = stackalloc byte[5];
        header[0] = response.Code.Value;
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(header[1..], response.ContentFormat ?? -1);
        hash.AppendData(header);
        hash.AppendData(response.Payload.Span);
        Span<byte> digest = stackalloc byte[32];
        hash.GetHashAndReset(digest);
        return digest[..8].ToArray();
    }

    /// <summary>Removes the options that only steer the block-wise transfer itself (the same collection when there are none).</summary>
    public static CoapOptionCollection WithoutBlockOptions(CoapOptionCollection options)
        => !HasBlockOptions(options) ? options : options.Remove(CoapOptionNumber.Block1).Remove(CoapOptionNumber.Block2)
            .Remove(CoapOptionNumber.Size1).Remove(CoapOptionNumber.Size2);

    /// <summary>True when any of Block1, Block2, Size1 or Size2 is present; one pass over the options.</summary>
    public static bool HasBlockOptions(CoapOptionCollection options)
    {
        foreach (var option in options.AsSpan())
        {
            if (option.Number is CoapOptionNumber.Block2 or CoapOptionNumber.Block1 or CoapOptionNumber.Size2 or CoapOptionNumber.Size1)
            {
                return true;
            }
        }

        return false;
    }
}
