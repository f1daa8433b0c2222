using System.Buffers.Binary;
using System.Net;
using System.Security.Cryptography;

namespace CoapEnroll.Coap;

/// <summary>
/// Identifies one block-wise operation on the server: the endpoint and peer it arrived from, and
/// the request's method and options that "distinguish block-wise operations" — every option except
/// Block1, Block2 and the elective NoCacheKey ones such as Size1, Size2 and Echo (RFC 9175 §3.3).
/// Request-Tag is thereby part of the key, which is what keeps concurrent Block1 operations of one
/// client apart (RFC 9175 §3.5.2).
/// </summary>
/// <remarks>
/// Also left out, so that blocks that legitimately differ in them still match:
/// If-None-Match, which may only appear on Block1 NUM=0 (RFC 7959 §2.10), and If-Match with it;
/// Content-Format, which Block2 continuation requests of a Block1 operation need not repeat when they
/// carry no payload (§2.7) and which the Block1 reassembly compares itself (§2.3); and Observe, because
/// the rest of an observed representation is fetched with plain GETs (§2.6, Figure 12).
/// For FETCH the request payload is part of the query (RFC 8132 §2), so a single-message FETCH body is
/// hashed into the key; a Block1 FETCH is keyed by its options, as its Block2 continuations carry no body.
/// </remarks>
internal readonly record struct BlockTransferKey(CoapEndpoint Endpoint, EndPoint Peer, string Operation)
{
    public static BlockTransferKey Create(CoapEndpoint endpoint, EndPoint peer, CoapMessage request)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> header = stackalloc byte[4];
        header[0] = request.Code.Value;
        hash.AppendData(header[..1]);
        foreach (var option in request.Options.AsSpan())
        {
            if (IsExcluded(option.Number))
            {
                continue;
            }

            BinaryPrimitives.WriteUInt16BigEndian(header, (ushort)option.Number);
            BinaryPrimitives.WriteUInt16BigEndian(header[2..], (ushort)option.Value.Length);
            hash.AppendData(header);
            hash.AppendData(option.Value.Span);
        }

        if (request.Code == CoapCode.Fetch && request.Block1 is null && !request.Payload.IsEmpty)
        {
            header[0] = 0xFF;
            hash.AppendData(header[..1]);
            hash.AppendData(request.Payload.Span);
        }

        Span<byte> digest = stackalloc byte[32];
        hash.GetHashAndReset(digest);
        return new BlockTransferKey(endpoint, peer, Convert.ToBase64String(digest[..16]));
    }

    private static bool IsExcluded(int number) => number switch
    {
        CoapOptionNumber.Block1 or CoapOptionNumber.Block2 or CoapOptionNumber.IfMatch or CoapOptionNumber.IfNoneMatch
            or CoapOptionNumber.ContentFormat or CoapOptionNumber.Observe => true,
        _ => !CoapOptionNumber.IsCritical(number) && CoapOptionNumber.IsNoCacheKey(number),
    };
}
