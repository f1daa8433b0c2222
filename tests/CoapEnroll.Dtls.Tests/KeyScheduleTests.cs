using System.Security.Cryptography;

namespace CoapEnroll.Dtls.Tests;

public class KeyScheduleTests
{
    // The widely published TLS 1.2 PRF (P_SHA256) vector; also reproduced with
    // `openssl kdf -keylen 100 -kdfopt digest:SHA256 ... TLS1-PRF` (OpenSSL 3.0.19) before committing.
    [Fact]
    public void Prf_Sha256_KnownAnswer()
    {
        byte[] secret = Convert.FromHexString("9bbe436ba940f017b17652849a71db35");
        byte[] seed = Convert.FromHexString("a0ba9f936cda311827a6f796ffd5198c");
        byte[] expected = Convert.FromHexString(
            "e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff70187347b66");
        byte[] output = new byte[100];
        TlsPrf.Compute(secret, "test label"u8, seed, output);
        Assert.Equal(expected, output);

        // Shorter outputs are prefixes; the two-part seed overload is the same function.
        byte[] shortOut = new byte[17];
        TlsPrf.Compute(secret, "test label"u8, seed.AsSpan(0, 5), seed.AsSpan(5), shortOut);
        Assert.Equal(expected[..17], shortOut);
    }

    [Fact]
    public void MasterSecret_IsPrfOverRandoms_AndEmsUsesSessionHash()
    {
        byte[] pre = RandomNumberGenerator.GetBytes(32);
        byte[] cr = RandomNumberGenerator.GetBytes(32);
        byte[] sr = RandomNumberGenerator.GetBytes(32);
        byte[] master = new byte[48];
        DtlsKeySchedule.ComputeMasterSecret(pre, cr, sr, master);
        byte[] expected = new byte[48];
        TlsPrf.Compute(pre, "master secret"u8, [.. cr, .. sr], expected);
        Assert.Equal(expected, master);

        byte[] sessionHash = SHA256.HashData("transcript"u8);
        DtlsKeySchedule.ComputeExtendedMasterSecret(pre, sessionHash, master);
        TlsPrf.Compute(pre, "extended master secret"u8, sessionHash, expected);
        Assert.Equal(expected, master);
    }

    [Fact]
    public void KeyBlock_SplitsServerRandomFirstExpansion()
    {
        byte[] master = RandomNumberGenerator.GetBytes(48);
        byte[] cr = RandomNumberGenerator.GetBytes(32);
        byte[] sr = RandomNumberGenerator.GetBytes(32);
        byte[] expected = new byte[40];
        TlsPrf.Compute(master, "key expansion"u8, [.. sr, .. cr], expected);
        using DtlsKeyBlock block = DtlsKeyBlock.Derive(CipherSuiteInfo.Get(CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8), master, cr, sr);
        Assert.Equal(expected[..16], block.ClientWriteKey.ToArray());
        Assert.Equal(expected[16..32], block.ServerWriteKey.ToArray());
        Assert.Equal(expected[32..36], block.ClientWriteIv.ToArray());
        Assert.Equal(expected[36..40], block.ServerWriteIv.ToArray());

        // Client write protection seals what the server-side instance (same keys) opens.
        using DtlsRecordProtection clientWrite = block.CreateClientWriteProtection();
        using DtlsRecordProtection serverRead = block.CreateClientWriteProtection();
        using DtlsRecordProtection serverWrite = block.CreateServerWriteProtection();
        byte[] record = new byte[100];
        int n = clientWrite.Seal(record, ContentType.ApplicationData, 1, 0, "x"u8);
        Assert.Equal(RecordParseStatus.Success, DtlsRecordCodec.TryReadRecord(record.AsSpan(0, n), 0, out DtlsRecord r, out _));
        byte[] plain = new byte[100];
        Assert.True(serverRead.TryOpen(r, plain, out _, out _));
        Assert.False(serverWrite.TryOpen(r, plain, out _, out _));
    }

    [Fact]
    public void VerifyData_ClientAndServerDiffer_AndVerifyIsExact()
    {
        byte[] master = RandomNumberGenerator.GetBytes(48);
        byte[] hash = SHA256.HashData("messages"u8);
        byte[] client = new byte[12];
        byte[] server = new byte[12];
        DtlsKeySchedule.ComputeVerifyData(master, true, hash, client);
        DtlsKeySchedule.ComputeVerifyData(master, false, hash, server);
        byte[] expected = new byte[12];
        TlsPrf.Compute(master, "client finished"u8, hash, expected);
        Assert.Equal(expected, client);
        Assert.NotEqual(client, server);
        Assert.True(DtlsKeySchedule.VerifyFinished(master, true, hash, client));
        Assert.False(DtlsKeySchedule.VerifyFinished(master, false, hash, client));
        Assert.False(DtlsKeySchedule.VerifyFinished(master, true, hash, client.AsSpan(0, 11)));
        client[11] ^= 1;
        Assert.False(DtlsKeySchedule.VerifyFinished(master, true, hash, client));
    }

    [Fact]
    public void Exporter_ContextAbsentDiffersFromEmpty_AndReservedLabelsRefused()
    {
        byte[] master = RandomNumberGenerator.GetBytes(48);
        byte[] cr = RandomNumberGenerator.GetBytes(32);
        byte[] sr = RandomNumberGenerator.GetBytes(32);
        byte[] none = new byte[32];
        byte[] empty = new byte[32];
        byte[] ctx = new byte[32];
        DtlsKeySchedule.ExportKeyingMaterial(master, cr, sr, "EXPORTER-test", null, none);
        DtlsKeySchedule.ExportKeyingMaterial(master, cr, sr, "EXPORTER-test", [], empty);
        DtlsKeySchedule.ExportKeyingMaterial(master, cr, sr, "EXPORTER-test", [1, 2], ctx);
        byte[] expected = new byte[32];
        TlsPrf.Compute(master, "EXPORTER-test"u8, [.. cr, .. sr], expected);
        Assert.Equal(expected, none);
        TlsPrf.Compute(master, "EXPORTER-test"u8, [.. cr, .. sr, 0, 0], expected);
        Assert.Equal(expected, empty);
        TlsPrf.Compute(master, "EXPORTER-test"u8, [.. cr, .. sr, 0, 2, 1, 2], expected);
        Assert.Equal(expected, ctx);
        Assert.Throws<ArgumentException>(() => DtlsKeySchedule.ExportKeyingMaterial(master, cr, sr, "key expansion", null, none));
        Assert.Throws<ArgumentException>(() => DtlsKeySchedule.ExportKeyingMaterial(master, cr, sr, "master secret", null, none));
    }

    [Fact]
    public void PskPreMaster_Rfc4279Layout()
    {
        byte[] psk = [0xAA, 0xBB, 0xCC];
        byte[] pre = new byte[DtlsKeySchedule.GetPskPreMasterSecretLength(psk.Length)];
        Assert.Equal(10, DtlsKeySchedule.WritePskPreMasterSecret(psk, pre));
        Assert.Equal(new byte[] { 0, 3, 0, 0, 0, 0, 3, 0xAA, 0xBB, 0xCC }, pre);
        Assert.Throws<ArgumentException>(() => DtlsKeySchedule.WritePskPreMasterSecret([], pre));
    }

    [Fact]
    public void NssKeyLog_Format()
    {
        byte[] cr = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
        byte[] ms = Enumerable.Repeat((byte)0xAB, 48).ToArray();
        string line = NssKeyLog.FormatClientRandom(cr, ms);
        Assert.Equal("CLIENT_RANDOM 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f " + new string('a', 0) +
            string.Concat(Enumerable.Repeat("ab", 48)), line);
        Assert.Equal(14 + 64 + 1 + 96, line.Length);
    }
}
