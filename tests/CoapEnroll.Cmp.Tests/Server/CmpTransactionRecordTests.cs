using System.Formats.Asn1;
using CoapEnroll.Ca;

namespace CoapEnroll.Cmp.Tests.Server;

/// <summary>A CMP transaction as the store keeps it: every field comes back, and what is not such a record is refused.</summary>
public sealed class CmpTransactionRecordTests
{
    [Fact]
    public void AWaitingAndAPendingTransaction_RoundTripThroughTheStoredForm()
    {
        DateTimeOffset deadline = new(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);
        var awaiting = new CmpTransaction
        {
            Id = "0A0B0C0D0E0F1011",
            Requester = "secret:dev-1",
            State = CmpTransactionState.AwaitingConfirmation,
            RequestType = PkiBodyType.Kur,
            CertReqId = 0,
            ExpectedRecipNonce = [1, 2, 3, 4, 5, 6, 7, 8],
            Deadline = deadline,
            ImplicitConfirmRequested = true,
            ProfileLabel = "iot",
            CertificateDer = [0x30, 0x00],
            CertificateSerial = "7F01",
            Version = 3,
        };
        StoredTransaction stored = CmpTransactionRecord.ToStored(awaiting);
        Assert.Equal(("cmp:0A0B0C0D0E0F1011", "secret:dev-1", "7F01", deadline, false, 3L), (stored.Id, stored.Owner, stored.Reference, stored.ExpiresAt, stored.Closed, stored.Version));
        CmpTransaction read = CmpTransactionRecord.FromStored(stored);
        Assert.Equal((awaiting.Id, awaiting.Requester, awaiting.State, awaiting.RequestType, awaiting.CertReqId, awaiting.Deadline, true, "iot", "7F01", 3L),
            (read.Id, read.Requester, read.State, read.RequestType, read.CertReqId, read.Deadline, read.ImplicitConfirmRequested, read.ProfileLabel, read.CertificateSerial, read.Version));
        Assert.Equal(awaiting.ExpectedRecipNonce, read.ExpectedRecipNonce);
        Assert.Equal(awaiting.CertificateDer, read.CertificateDer);
        Assert.Null(read.OpeningMessage);

        var pending = new CmpTransaction
        {
            Id = "01",
            Requester = "CN=dev",
            State = CmpTransactionState.Pending,
            RequestType = PkiBodyType.P10cr,
            CertReqId = -1,
            ExpectedRecipNonce = [9],
            Deadline = deadline,
            OpeningMessage = [0x30, 0x03, 0x02, 0x01, 0x02],
        };
        StoredTransaction closed = CmpTransactionRecord.ToStored(pending, closed: true, forgetAt: deadline.AddHours(1));
        Assert.Equal((null, deadline.AddHours(1), true), (closed.Reference, closed.ExpiresAt, closed.Closed));
        CmpTransaction again = CmpTransactionRecord.FromStored(closed);
        Assert.Equal((CmpTransactionState.Pending, -1L, (string?)null, (byte[]?)null), (again.State, again.CertReqId, again.ProfileLabel, again.CertificateDer));
        Assert.Equal(pending.OpeningMessage, again.OpeningMessage);
    }

    [Theory]
    [InlineData("")]                                  // no DER at all
    [InlineData("3003020102")]                        // an unknown format
    [InlineData("3012020101020109020100020100040100010100")] // an unknown state
    [InlineData("30140201010201000201000201000401000101000500")] // a field after the last one known
    [InlineData("3012020101020100020100020100040100010100" + "00")] // bytes after the record
    public void DataThatIsNoRecordOfThisFormat_IsRefused(string hex)
    {
        var stored = new StoredTransaction { Id = "cmp:01", Owner = "o", Data = Convert.FromHexString(hex), ExpiresAt = DateTimeOffset.UnixEpoch };
        Assert.ThrowsAny<AsnContentException>(() => CmpTransactionRecord.FromStored(stored));
    }

    [Fact]
    public void ARowOfAnotherProtocol_IsRefused()
    {
        StoredTransaction stored = CmpTransactionRecord.ToStored(new CmpTransaction
        {
            Id = "01", Requester = "o", State = CmpTransactionState.Pending, RequestType = PkiBodyType.Ir, CertReqId = 0, ExpectedRecipNonce = [1], Deadline = DateTimeOffset.UnixEpoch,
        }) with { Id = "est:01" };
        Assert.Throws<AsnContentException>(() => CmpTransactionRecord.FromStored(stored));
    }
}
