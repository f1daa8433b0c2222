namespace CoapEnroll.Dtls;

/// <summary>
/// What a connection needs only while it handshakes, in one object the connection drops at establishment or close: an
/// idle established session then keeps one null reference for all of it instead of one per part (the server's subclass adds
/// its key exchange objects). <see cref="Release"/> zeroes and disposes what it holds.
/// </summary>
internal class DtlsHandshakeState
{
    public DtlsHandshakeState(ushort firstMessageSeq) => Reassembler = new HandshakeReassembler(firstMessageSeq);

    /// <summary>Reassembly of the peer's handshake messages.</summary>
    public HandshakeReassembler Reassembler { get; }

    /// <summary>The handshake transcript.</summary>
    public HandshakeTranscript Transcript { get; } = new();

    /// <summary>Zeroes buffered fragments and the transcript; subclasses also dispose their keys.</summary>
    public virtual void Release()
    {
        Reassembler.Reset(Reassembler.NextMessageSeq);
        Transcript.Reset();
    }
}
