namespace CoapEnroll.Dtls.Tests;

public class AntiReplayWindowTests
{
    [Fact]
    public void Window_Semantics()
    {
        var w = new AntiReplayWindow();
        Assert.Null(w.Highest);
        Assert.True(w.Check(0));
        Assert.True(w.Check(1000));
        Assert.True(w.Mark(10));
        Assert.False(w.Check(10));         // duplicate
        Assert.True(w.Check(9));           // older, inside the window, unseen
        Assert.False(w.Mark(9));           // not the newest
        Assert.False(w.Check(9));
        Assert.True(w.Mark(100));
        Assert.Equal(100UL, w.Highest);
        Assert.False(w.Check(10));         // 90 behind: outside the 64-record window
        Assert.False(w.Check(36));         // exactly 64 behind
        Assert.True(w.Check(37));          // 63 behind
        Assert.False(w.Mark(37));          // inside the window, not the newest
        Assert.False(w.Check(37));
        Assert.True(w.Mark(101));          // shift by one keeps 100 and 37 marked
        Assert.False(w.Check(100));
        Assert.False(w.Check(37));
        Assert.True(w.Check(99));
        Assert.True(w.Mark(101 + 200));    // far jump clears history
        Assert.False(w.Check(101));
        Assert.True(w.Check(300));
        Assert.False(w.Check(DtlsRecordCodec.MaxSequenceNumber + 1));
    }

    [Fact]
    public void SequenceZero_IsRemembered_AndResetForgetsIt()
    {
        // "Any record marked" is the bitmap's bit 0, so a first record numbered 0 must still count as seen.
        var w = new AntiReplayWindow();
        Assert.True(w.Mark(0));
        Assert.Equal(0UL, w.Highest);
        Assert.False(w.Check(0));
        Assert.False(w.Mark(0));
        Assert.True(w.Check(1));
        w.Reset();
        Assert.Null(w.Highest);
        Assert.True(w.Check(0));
        Assert.True(w.Mark(0));
    }

    [Fact]
    public void CheckAlone_DoesNotAdvance()
    {
        // A forged record passes Check but fails authentication: without Mark the window is unchanged.
        var w = new AntiReplayWindow();
        w.Mark(5);
        Assert.True(w.Check(1_000_000));
        Assert.Equal(5UL, w.Highest);
        Assert.True(w.Check(4));
        w.Reset();
        Assert.Null(w.Highest);
        Assert.True(w.Check(5));
    }

    [Fact]
    public void MatchesReferenceModel()
    {
        var random = new Random(1234);
        var w = new AntiReplayWindow();
        var seen = new HashSet<ulong>();
        ulong highest = 0;
        bool any = false;
        for (int i = 0; i < 20_000; i++)
        {
            ulong seq = (ulong)random.Next(0, 3000);
            bool expected = !seen.Contains(seq) && (!any || seq > highest || highest - seq < 64);
            Assert.Equal(expected, w.Check(seq));
            if (expected && random.Next(4) != 0)
            {
                w.Mark(seq);
                seen.Add(seq);
                if (!any || seq > highest)
                {
                    highest = seq;
                }

                any = true;
            }
        }
    }
}
