using CoapEnroll.Coap;

namespace CoapEnroll.Fuzz;

/// <summary>
/// The CoAP message decoder and option parser (RFC 7252 §3): one datagram. A message that decodes must validate the same
/// way, answer every option accessor without throwing, and re-encode to bytes that decode to the same message.
/// </summary>
internal sealed class CoapMessageTarget : IFuzzTarget
{
    public string Name => "coap-message";

    public string Description => "CoapMessageDecoder.TryDecode/Validate, option accessors, re-encoding";

    public void Run(ReadOnlySpan<byte> input)
    {
        byte[] datagram = input.ToArray();
        CoapMessageDecoder.TryReadHeader(datagram, out _, out _, out _);
        CoapDecodeStatus validated = CoapMessageDecoder.Validate(datagram);
        CoapDecodeStatus status = CoapMessageDecoder.TryDecode(datagram, out CoapMessage? message);
        if (status != validated)
        {
            throw new FuzzInvariantException($"Validate says {validated}, TryDecode says {status}");
        }

        if (status != CoapDecodeStatus.Success)
        {
            return;
        }

        Touch(message!);
        byte[] encoded = CoapMessageEncoder.Encode(message!);
        if (CoapMessageDecoder.TryDecode(encoded, out CoapMessage? again) != CoapDecodeStatus.Success)
        {
            throw new FuzzInvariantException("a decoded message re-encodes to bytes that do not decode");
        }

        if (!CoapMessageEncoder.Encode(again!).AsSpan().SequenceEqual(encoded))
        {
            throw new FuzzInvariantException("decode(encode(m)) encodes differently from m");
        }
    }

    /// <summary>Every accessor a server or client reads off a received message.</summary>
    internal static void Touch(CoapMessage message)
    {
        _ = message.ToString();
        _ = message.UriPath;
        _ = message.UriQuery;
        _ = message.LocationPath;
        _ = message.ContentFormat;
        _ = message.Accept;
        _ = message.MaxAge;
        _ = message.Observe;
        _ = message.Size1;
        _ = message.Size2;
        _ = message.Block1;
        _ = message.Block2;
        _ = message.ETag;
        _ = message.RequestTag;
        _ = message.PayloadText;
        message.TryFindRejectableOption(out _);
        foreach (CoapOption option in message.Options)
        {
            _ = option.Name;
            _ = option.ToString();
            if (option.TryGetUInt(out uint value) && (option.Number is CoapOptionNumber.Block1 or CoapOptionNumber.Block2) &&
                BlockOption.TryDecode(value, out BlockOption block))
            {
                _ = block.Offset;
                _ = block.ToOption(option.Number);
            }
        }
    }
}
