using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace LlamaBoard.Web.Data;

/// <summary>The run history: runs, their metric points and log lines, in SQLite (schema by migrations under Data/Migrations).</summary>
public sealed class RunHistoryContext(DbContextOptions<RunHistoryContext> options) : DbContext(options)
{
    public DbSet<RunRecord> Runs => Set<RunRecord>();
    public DbSet<MetricPoint> Metrics => Set<MetricPoint>();
    public DbSet<RunLogLine> Logs => Set<RunLogLine>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<RunRecord>(run =>
        {
            run.ToTable("Runs");
            run.Property(r => r.Status).HasConversion<string>().HasMaxLength(16);
            run.HasIndex(r => r.Status);
            run.HasIndex(r => r.CreatedAt);
            run.HasIndex(r => r.ModelPath);
            run.HasMany(r => r.Metrics).WithOne().HasForeignKey(m => m.RunId).OnDelete(DeleteBehavior.Cascade);
            run.HasMany(r => r.Logs).WithOne().HasForeignKey(l => l.RunId).OnDelete(DeleteBehavior.Cascade);
        });
        modelBuilder.Entity<MetricPoint>(metric =>
        {
            metric.ToTable("MetricPoints");
            metric.Property(m => m.Kind).HasConversion<string>().HasMaxLength(8);
            metric.HasIndex(m => new { m.RunId, m.Kind, m.Step });
        });
        modelBuilder.Entity<RunLogLine>(log =>
        {
            log.ToTable("RunLogLines");
            log.HasIndex(l => new { l.RunId, l.Sequence });
        });
    }
}

/// <summary>Lets <c>dotnet ef migrations add</c> build the context without starting the board.</summary>
internal sealed class RunHistoryDesignTimeFactory : IDesignTimeDbContextFactory<RunHistoryContext>
{
    public RunHistoryContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<RunHistoryContext>().UseSqlite("Data Source=design-time.db").Options);
}
