namespace CoapEnroll.Dtls;

/// <summary>The ChangeCipherSpec record body (RFC 5246 §7.1): the single byte 1.</summary>
internal static class ChangeCipherSpec
{
    /// <summary>The only valid body.</summary>
    public static ReadOnlySpan<byte> Body => [1];

    /// <summary>True only for exactly one byte of value 1.</summary>
    public static bool IsValid(ReadOnlySpan<byte> body) => body.Length == 1 && body[0] == 1;
}
