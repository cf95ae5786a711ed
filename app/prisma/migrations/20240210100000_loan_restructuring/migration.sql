-- AlterEnum
ALTER TYPE "LoanStatus" ADD VALUE 'RESTRUCTURED';

-- AlterTable
ALTER TABLE "loans" ADD COLUMN     "restructuredFromId" TEXT;

-- CreateIndex
CREATE UNIQUE INDEX "loans_restructuredFromId_key" ON "loans"("restructuredFromId");

-- AddForeignKey
ALTER TABLE "loans" ADD CONSTRAINT "loans_restructuredFromId_fkey" FOREIGN KEY ("restructuredFromId") REFERENCES "loans"("id") ON DELETE SET NULL ON UPDATE CASCADE;
