using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using CoapEnroll.Dtls;

namespace CoapEnroll.Bench;

/// <summary>
/// AEAD record protection (DtlsRecordProtection.Seal / TryOpen) for one record of application data, no CID
/// and with a 6-byte CID, at the two sizes that matter for CoAP over DTLS: a small request (64 B) and a
/// block-wise block (1024 B). The output buffers are preallocated, so any allocation reported is the
/// implementation's own.
/// </summary>
[MemoryDiagnoser]
public class DtlsRecordBenchmarks
{
    private DtlsRecordProtection _protection;
    private byte[] _plaintext = null!;
    private byte[] _record = null!;
    private byte[] _sealed = null!;
    private byte[] _opened = null!;
    private int _sealedLength;
    private byte[] _cid = null!;
    private ulong _sequence = 1;

    [Params(CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8, CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)]
    public CipherSuite Suite { get; set; }

    [Params(64, 1024)]
    public int Size { get; set; }

    [Params(0, 6)]
    public int CidLength { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        CipherSuiteInfo info = CipherSuiteInfo.Get(Suite);
        _protection = DtlsRecordProtection.Create(info, RandomNumberGenerator.GetBytes(16), RandomNumberGenerator.GetBytes(4));
        _cid = RandomNumberGenerator.GetBytes(CidLength);
        _plaintext = RandomNumberGenerator.GetBytes(Size);
        _record = new byte[_protection.GetSealedLength(Size, CidLength, 0) + 1];
        _opened = new byte[Size + 64];
        _sealed = new byte[_record.Length];
        _sealedLength = _protection.Seal(_sealed, ContentType.ApplicationData, 1, 0, _plaintext, _cid);
        if (!OpenRecord())
        {
            throw new InvalidOperationException("Round trip failed.");
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _protection.Dispose();

    /// <summary>Protects one record (header, nonce, AEAD encrypt, tag) into a preallocated buffer.</summary>
    [Benchmark]
    public int Seal() => _protection.Seal(_record, ContentType.ApplicationData, 1, _sequence++ & DtlsRecordCodec.MaxSequenceNumber, _plaintext, _cid);

    /// <summary>Parses the record header and authenticates/decrypts one record into a preallocated buffer.</summary>
    [Benchmark]
    public bool Open() => OpenRecord();

    private bool OpenRecord()
    {
        DtlsRecordCodec.TryReadRecord(_sealed.AsSpan(0, _sealedLength), CidLength, out DtlsRecord record, out _);
        return _protection.TryOpen(record, _opened, out _, out _);
    }
}
