using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace CoapEnroll.Dtls;

/// <summary>
/// TLS 1.2 key schedule pieces (RFC 5246 §8.1, §7.4.9; RFC 7627 §4; RFC 5705; RFC 4279 §2).
/// Outputs go to caller-provided spans so callers can keep secrets in buffers they clear.
/// </summary>
internal static class DtlsKeySchedule
{
    /// <summary>Master secret length (RFC 5246 §8.1).</summary>
    public const int MasterSecretLength = 48;

    /// <summary>Hello random length (RFC 5246 §7.4.1.2).</summary>
    public const int RandomLength = 32;

    /// <summary>verify_data length for every suite here (RFC 5246 §7.4.9).</summary>
    public const int VerifyDataLength = 12;

    private static readonly string[] s_reservedExporterLabels =
        ["client finished", "server finished", "master secret", "key expansion", "extended master secret"];

    /// <summary>
    /// Legacy master secret: PRF(pre_master, "master secret", client_random + server_random)[0..47]
    /// (RFC 5246 §8.1), for sessions with a peer that does not negotiate the extended master secret
    /// (<see cref="ExtendedMasterSecretPolicy.Optional"/>).
    /// </summary>
    public static void ComputeMasterSecret(ReadOnlySpan<byte> preMasterSecret, ReadOnlySpan<byte> clientRandom,
        ReadOnlySpan<byte> serverRandom, Span<byte> masterSecret)
    {
        CheckRandoms(clientRandom, serverRandom);
        CheckLength(masterSecret, MasterSecretLength, nameof(masterSecret));
        TlsPrf.Compute(preMasterSecret, "master secret"u8, clientRandom, serverRandom, masterSecret);
    }

    /// <summary>
    /// Extended master secret: PRF(pre_master, "extended master secret", session_hash)[0..47] (RFC 7627 §4),
    /// where session_hash = Hash(handshake messages up to and including ClientKeyExchange) — see
    /// <see cref="HandshakeTranscript.GetHash(System.Security.Cryptography.HashAlgorithmName)"/>.
    /// </summary>
    public static void ComputeExtendedMasterSecret(ReadOnlySpan<byte> preMasterSecret, ReadOnlySpan<byte> sessionHash, Span<byte> masterSecret)
    {
        CheckLength(masterSecret, MasterSecretLength, nameof(masterSecret));
        TlsPrf.Compute(preMasterSecret, "extended master secret"u8, sessionHash, masterSecret);
    }

    /// <summary>
    /// Finished.verify_data = PRF(master, "client finished"|"server finished", Hash(handshake_messages))[0..11]
    /// (RFC 5246 §7.4.9). The hash covers all messages before this Finished (so the server's includes the
    /// client's Finished). Compare received values with <see cref="CryptographicOperations.FixedTimeEquals"/>.
    /// </summary>
    public static void ComputeVerifyData(ReadOnlySpan<byte> masterSecret, bool fromClient, ReadOnlySpan<byte> handshakeHash, Span<byte> verifyData)
    {
        CheckLength(masterSecret, MasterSecretLength, nameof(masterSecret));
        CheckLength(verifyData, VerifyDataLength, nameof(verifyData));
        TlsPrf.Compute(masterSecret, fromClient ? "client finished"u8 : "server finished"u8, handshakeHash, verifyData);
    }

    /// <summary>Constant-time check of a received verify_data against the expected one.</summary>
    public static bool VerifyFinished(ReadOnlySpan<byte> masterSecret, bool fromClient, ReadOnlySpan<byte> handshakeHash, ReadOnlySpan<byte> received)
    {
        Span<byte> expected = stackalloc byte[VerifyDataLength];
        ComputeVerifyData(masterSecret, fromClient, handshakeHash, expected);
        bool ok = received.Length == VerifyDataLength && CryptographicOperations.FixedTimeEquals(expected, received);
        CryptographicOperations.ZeroMemory(expected);
        return ok;
    }

    /// <summary>
    /// RFC 5705 §4 exporter: PRF(master, label, client_random + server_random [+ uint16 context length + context]).
    /// A null <paramref name="context"/> means "no context", which differs from an empty one. Labels the TLS
    /// key schedule itself uses are refused (RFC 5705 §4). The caller must not call this before the handshake
    /// completed (the randoms and master secret are only final then).
    /// </summary>
    public static void ExportKeyingMaterial(ReadOnlySpan<byte> masterSecret, ReadOnlySpan<byte> clientRandom, ReadOnlySpan<byte> serverRandom,
        string label, byte[]? context, Span<byte> output)
    {
        ArgumentException.ThrowIfNullOrEmpty(label);
        CheckLength(masterSecret, MasterSecretLength, nameof(masterSecret));
        CheckRandoms(clientRandom, serverRandom);
        if (Array.IndexOf(s_reservedExporterLabels, label) >= 0)
        {
            throw new ArgumentException("Label reserved by TLS.", nameof(label));
        }

        if (context is { Length: > ushort.MaxValue })
        {
            throw new ArgumentException("Context longer than 2^16-1.", nameof(context));
        }

        byte[] labelBytes = Encoding.ASCII.GetBytes(label);
        int seedLength = 2 * RandomLength + (context is null ? 0 : 2 + context.Length);
        byte[] seed = new byte[seedLength];
        clientRandom.CopyTo(seed);
        serverRandom.CopyTo(seed.AsSpan(RandomLength));
        if (context is not null)
        {
            BinaryPrimitives.WriteUInt16BigEndian(seed.AsSpan(2 * RandomLength), (ushort)context.Length);
            context.CopyTo(seed, 2 * RandomLength + 2);
        }

        TlsPrf.Compute(masterSecret, labelBytes, seed, output);
    }

    /// <summary>Length of the RFC 4279 §2 plain-PSK premaster secret for a key of <paramref name="pskLength"/> bytes.</summary>
    public static int GetPskPreMasterSecretLength(int pskLength) => 4 + 2 * pskLength;

    /// <summary>
    /// RFC 4279 §2 premaster for plain PSK: uint16 N, N zero bytes, uint16 N, psk. Returns bytes written.
    /// </summary>
    public static int WritePskPreMasterSecret(ReadOnlySpan<byte> psk, Span<byte> destination)
    {
        if (psk.IsEmpty || psk.Length > ushort.MaxValue)
        {
            throw new ArgumentException("PSK length must be 1..65535.", nameof(psk));
        }

        int length = GetPskPreMasterSecretLength(psk.Length);
        CheckLength(destination, length, nameof(destination), atLeast: true);
        BinaryPrimitives.WriteUInt16BigEndian(destination, (ushort)psk.Length);
        destination.Slice(2, psk.Length).Clear();
        BinaryPrimitives.WriteUInt16BigEndian(destination[(2 + psk.Length)..], (ushort)psk.Length);
        psk.CopyTo(destination[(4 + psk.Length)..]);
        return length;
    }

    private static void CheckRandoms(ReadOnlySpan<byte> clientRandom, ReadOnlySpan<byte> serverRandom)
    {
        CheckLength(clientRandom, RandomLength, nameof(clientRandom));
        CheckLength(serverRandom, RandomLength, nameof(serverRandom));
    }

    private static void CheckLength(ReadOnlySpan<byte> span, int length, string name, bool atLeast = false)
    {
        if (atLeast ? span.Length < length : span.Length != length)
        {
            throw new ArgumentException($"Expected {(atLeast ? "at least " : "")}{length} bytes.", name);
        }
    }
}
