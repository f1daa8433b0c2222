namespace CoapEnroll.Dtls;

/// <summary>
/// Base of the handshake message codecs (RFC 5246 §7.4, RFC 6347 §4.3.2). Each subclass has a static
/// <c>TryParse(ReadOnlySpan&lt;byte&gt; body, out T)</c> that rejects truncation, inconsistent inner lengths,
/// out-of-range vectors and trailing bytes, and never throws on malformed input. <see cref="Encode"/>
/// produces the body without the 12-byte DTLS header (frame it with <see cref="HandshakeFragmenter"/>,
/// hash it with <see cref="HandshakeTranscript"/>). Not hot paths: these allocate.
/// </summary>
internal abstract class HandshakeMessage
{
    private protected HandshakeMessage()
    {
    }

    public abstract HandshakeType Type { get; }

    /// <summary>The message body.</summary>
    public byte[] Encode()
    {
        var writer = new TlsWriter();
        WriteBody(writer);
        return writer.ToArray();
    }

    private protected abstract void WriteBody(TlsWriter writer);
}
