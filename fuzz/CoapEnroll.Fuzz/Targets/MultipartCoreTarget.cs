using CoapEnroll.Est;

namespace CoapEnroll.Fuzz;

/// <summary>
/// application/multipart-core (RFC 8710), the CBOR body of EST-coaps server-side key generation answers (RFC 9148 §4.8):
/// decoding refuses with a reason, never throws, and an accepted collection re-encodes to the same bytes (it accepts only
/// the shortest form).
/// </summary>
internal sealed class MultipartCoreTarget : IFuzzTarget
{
    public string Name => "multipart-core";

    public string Description => "MultipartCore.TryDecode and re-encoding";

    public void Run(ReadOnlySpan<byte> input)
    {
        byte[] body = input.ToArray();
        if (!MultipartCore.TryDecode(body, out IReadOnlyList<MultipartCorePart> parts, out string? error))
        {
            if (error is null)
            {
                throw new FuzzInvariantException("refused without a reason");
            }

            return;
        }

        if (!MultipartCore.Encode(parts).AsSpan().SequenceEqual(body))
        {
            throw new FuzzInvariantException("an accepted body re-encodes differently");
        }
    }
}
