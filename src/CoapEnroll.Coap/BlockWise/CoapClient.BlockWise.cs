using System.Buffers;
using System.Net;

namespace CoapEnroll.Coap;

/// <summary>Client-side block-wise transfers (RFC 7959), transparent to callers of <see cref="SendAsync"/>.</summary>
public sealed partial class CoapClient
{
    /// <summary>How often a GET or FETCH is started over when its representation changes between blocks (§2.4).</summary>
    private const int MaxRestarts = 2;

    private readonly RequestTagAllocator _requestTags = new();

    internal RequestTagAllocator RequestTags => _requestTags;

    private async Task<CoapMessage> SendBlockWiseAsync(CoapMessage request, EndPoint remote, CancellationToken cancellationToken)
    {
        // A caller that sets Block1, or asks for a particular later block, drives the transfer itself.
        if (request.Options.Contains(CoapOptionNumber.Block1) || request.Block2 is { Number: > 0 }
            || BlockWiseHelpers.HasInvalidBlockOption(request, CoapOptionNumber.Block2))
        {
            return await _endpoint.RequestAsync(request, remote, cancellationToken);
        }

        // §2.4 early negotiation: the caller's own Block2 NUM=0, or the configured block size.
        int? responseSzx = request.Block2?.SizeExponent ?? (Options.BlockSize is { } size ? BlockOption.SizeToExponent(size) : null);
        bool restartable = request.Code == CoapCode.Get || request.Code == CoapCode.Fetch;
        for (int attempt = 0; ; attempt++)
        {
            var response = await TransferAsync(request, remote, responseSzx, cancellationToken);
            if (response is not null)
            {
                return response;
            }

            // §2.4: "If the ETag Options do not match in a GET transfer, the requester has the option of
            // attempting to retrieve fresh values for the blocks it retrieved first." Other methods
            // cannot be repeated without repeating their effect.
            if (!restartable || attempt >= MaxRestarts)
            {
                throw new CoapProtocolException(CoapError.BlockTransfer, $"The response body of {request.Code} /{request.UriPath} changed during its block-wise transfer (ETag), or the server no longer holds it (4.08).");
            }
        }
    }

    /// <summary>One attempt at the whole operation; null when the representation changed between blocks.</summary>
    private async Task<CoapMessage?> TransferAsync(CoapMessage request, EndPoint remote, int? responseSzx, CancellationToken cancellationToken)
    {
        int? block1Size = GetBlock1Size(request);
        if (block1Size is null)
        {
            var first = responseSzx is { } szx ? request.WithBlock2(new BlockOption(0, false, szx)) : request;
            var response = await _endpoint.RequestAsync(first, remote, cancellationToken);
            if (response.Block2 is null)
            {
                return response;
            }

            // §2.4: further requests "with the same options as the initial request"; a FETCH body is part
            // of the request (RFC 8132 §2) and goes along, other methods' bodies are not repeated (§3.3).
            var template = ContinuationTemplate(request, keepPayload: request.Code == CoapCode.Fetch);
            return await ReceiveBlock2Async(template, response, remote, cancellationToken);
        }

        // RFC 9175 §3.5.2: a Request-Tag keeps this body apart from other Block1 operations to the server.
        using var tag = _requestTags.Acquire(remote);
        var tagged = tag.Value is { } value ? request.SetOption(new CoapOption(CoapOptionNumber.RequestTag, value)) : request;
        var final = await SendBlock1Async(tagged, remote, block1Size.Value, responseSzx, cancellationToken);
        if (final.Block2 is null)
        {
            return final;
        }

        // §2.7: the Block2 phase repeats the Block1 phase's requests without Block1 and payload, and with
        // the same Request-Tag (RFC 9175 §3.4).
        return await ReceiveBlock2Async(ContinuationTemplate(tagged, keepPayload: false), final, remote, cancellationToken);
    }

    /// <summary>The block size for sending the payload with Block1, or null when it goes in one message.</summary>
    private int? GetBlock1Size(CoapMessage request)
    {
        if (request.Payload.IsEmpty)
        {
            return null;
        }

        int maxMessage = _endpoint.MaxMessageSize;
        bool fits = CoapMessageEncoder.GetEncodedLength(request with { Token = new byte[CoapMessage.MaxTokenLength] }) <= maxMessage;
        int fitting = BlockWiseHelpers.FitBlockSize(request, maxMessage, opaqueOptions: 1);
        if (Options.BlockSize is { } size)
        {
            return request.Payload.Length > size || !fits ? Math.Min(size, fitting) : null;
        }

        return fits ? null : Math.Min(BlockWiseHelpers.MaxBlockSize, fitting);
    }

    /// <summary>Sends the payload block by block and returns the response to the final block (§2.5).</summary>
    private async Task<CoapMessage> SendBlock1Async(CoapMessage request, EndPoint remote, int size, int? responseSzx, CancellationToken cancellationToken)
    {
        var body = request.Payload;
        int total = body.Length;
        var template = request.WithPayload(ReadOnlyMemory<byte>.Empty);
        int offset = 0;
        bool retriedSmaller = false;
        while (true)
        {
            int number = offset / size;
            if (number > BlockOption.MaxNumber)
            {
                throw new CoapProtocolException(CoapError.BlockTransfer, $"A {total}-byte body needs more than 2^20 blocks of {size} bytes.");
            }

            int count = Math.Min(size, total - offset);
            bool more = offset + count < total;

            // §4: Size1 gives the server the total size up front, so it can refuse early with 4.13.
            var message = template.WithBlock1(new BlockOption(number, more, BlockOption.SizeToExponent(size)))
                .SetUInt(CoapOptionNumber.Size1, (uint)total)
                .WithPayload(body.Slice(offset, count));
            if (number > 0)
            {
                // §2.10: If-None-Match "MUST NOT be used on Block1 requests with NUM != 0"; each block is
                // its own exchange, so only the first keeps a caller-chosen token.
                message = message.WithoutOption(CoapOptionNumber.IfNoneMatch) with { Token = ReadOnlyMemory<byte>.Empty };
            }

            if (!more && responseSzx is { } szx)
            {
                // §3.3, Figure 11: early Block2 negotiation rides on the final Block1 block.
                message = message.WithBlock2(new BlockOption(0, false, szx));
            }

            var response = await _endpoint.RequestAsync(message, remote, cancellationToken);
            if (more && response.Code.IsSuccess)
            {
                // 2.31 Continue (§2.9.1), or a server enacting each block on its own (§2.3, Figure 8): the
                // client "is still expected to continue sending further blocks". Block1 in the response
                // may ask for smaller blocks from now on (§2.5, Figure 9); the offset reached is a
                // multiple of any smaller power of two, so numbering simply continues in the new size.
                offset += count;
                if (response.Block1 is { } control && control.Size < size)
                {
                    size = control.Size;
                }

                continue;
            }

            if (!more && response.Code == CoapCode.Continue)
            {
                throw new CoapProtocolException(CoapError.ProtocolViolation, "The server answered the final Block1 block with 2.31 Continue.");
            }

            if (response.Code == CoapCode.RequestEntityTooLarge && response.Block1 is { } hint && hint.Size < size && !retriedSmaller)
            {
                // §2.9.3: "a 4.13 response with a smaller SZX in its Block1 Option than requested is a hint
                // to try a smaller SZX"; the server dropped what it had, so start over, once.
                size = hint.Size;
                offset = 0;
                retriedSmaller = true;
                continue;
            }

            return response;
        }
    }

    /// <summary>
    /// Fetches the blocks after <paramref name="first"/> and returns one response with the whole body,
    /// or null when the representation changed (ETag) or the server lost the transfer (4.08).
    /// </summary>
    private async Task<CoapMessage?> ReceiveBlock2Async(CoapMessage template, CoapMessage first, EndPoint remote, CancellationToken cancellationToken)
    {
        var block = first.Block2!.Value;
        if (block.Number != 0)
        {
            throw new CoapProtocolException(CoapError.ProtocolViolation, $"Asked for the first block, got Block2 {block}.");
        }

        if (!block.More)
        {
            return Combine(first, first.Payload);
        }

        int limit = Options.MaxResponseBodySize;
        if (first.Size2 > (uint)limit)
        {
            throw new CoapProtocolException(CoapError.BlockTransfer, $"The response body of {first.Size2} bytes exceeds the limit of {limit}.");
        }

        CheckBlock(first, block);
        var body = new ArrayBufferWriter<byte>(first.Size2 is { } announced && announced > 0 ? (int)announced : 4 * block.Size);
        Append(body, first.Payload, limit);
        var etag = first.ETag;
        int? contentFormat = first.ContentFormat;
        int size = block.Size;
        while (block.More)
        {
            int offset = body.WrittenCount;
            var request = template.WithBlock2(new BlockOption(offset / size, false, BlockOption.SizeToExponent(size)));
            var response = await _endpoint.RequestAsync(request, remote, cancellationToken);
            if (response.Code == CoapCode.RequestEntityIncomplete)
            {
                // The server no longer holds the body (expired or evicted, §2.4).
                return null;
            }

            // An error body (for example a long diagnostic, RFC 7252 §5.5.2) is block-wise too: its blocks carry the same code.
            if (!response.Code.IsSuccess && response.Code != first.Code)
            {
                throw new CoapProtocolException(CoapError.BlockTransfer, $"Block at byte {offset} of {template.Code} /{template.UriPath} answered {response.Code}: {response.PayloadText}");
            }

            if (response.Block2 is not { } next)
            {
                throw new CoapProtocolException(CoapError.ProtocolViolation, "A block-wise response continued without Block2.");
            }

            // §2.4: the client "MUST compare ETag Options" while reassembling.
            if (!SameETag(etag, response.ETag))
            {
                return null;
            }

            if (next.Offset != offset)
            {
                throw new CoapProtocolException(CoapError.ProtocolViolation, $"Asked for the block at byte {offset}, got Block2 {next}.");
            }

            // §2.3: blocks with different Content-Format are an error; "it will typically abort".
            if (response.ContentFormat != contentFormat)
            {
                throw new CoapProtocolException(CoapError.BlockTransfer, "The Content-Format changed between blocks.");
            }

            CheckBlock(response, next);
            Append(body, response.Payload, limit);

            // The server may serve smaller blocks than asked for (§2.4); later requests follow its size.
            size = next.Size;
            block = next;
        }

        return Combine(first, body.WrittenMemory);
    }

    /// <summary>The request for later blocks: same options, no Block1/Size1/Observe or conditions, a fresh token.</summary>
    private static CoapMessage ContinuationTemplate(CoapMessage request, bool keepPayload)
    {
        // Observe: the rest of a notification is fetched with plain GETs (§2.6, Figure 12). If-Match and
        // If-None-Match conditioned the operation, which has happened; a continuation only reads its result.
        var options = BlockWiseHelpers.WithoutBlockOptions(request.Options)
            .Remove(CoapOptionNumber.Observe).Remove(CoapOptionNumber.IfMatch).Remove(CoapOptionNumber.IfNoneMatch);
        return request with
        {
            Options = options,
            Token = ReadOnlyMemory<byte>.Empty,
            Payload = keepPayload ? request.Payload : ReadOnlyMemory<byte>.Empty,
        };
    }

    private static void CheckBlock(CoapMessage response, BlockOption block)
    {
        // §2.3: with M set, the payload size "MUST match" the block size.
        if (block.More && response.Payload.Length != block.Size)
        {
            throw new CoapProtocolException(CoapError.ProtocolViolation, $"Block2 {block} carries {response.Payload.Length} bytes.");
        }
    }

    private static void Append(ArrayBufferWriter<byte> body, ReadOnlyMemory<byte> payload, int limit)
    {
        if ((long)body.WrittenCount + payload.Length > limit)
        {
            throw new CoapProtocolException(CoapError.BlockTransfer, $"The response body exceeds the limit of {limit} bytes.");
        }

        body.Write(payload.Span);
    }

    private static bool SameETag(ReadOnlyMemory<byte>? a, ReadOnlyMemory<byte>? b)
        => a is null ? b is null : b is not null && a.Value.Span.SequenceEqual(b.Value.Span);

    private static CoapMessage Combine(CoapMessage first, ReadOnlyMemory<byte> body)
        => first.WithoutOption(CoapOptionNumber.Block2).WithoutOption(CoapOptionNumber.Size2).WithPayload(body);
}
