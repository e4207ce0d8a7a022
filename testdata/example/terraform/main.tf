# Cluster infrastructure for the shop. Not read by kustomize or kustomatrix;
# it is here to show that non-Kubernetes files in the repository are ignored.
terraform {
  required_version = ">= 1.6"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }
}

provider "aws" {
  region = "eu-west-1"
}

variable "environments" {
  type    = set(string)
  default = ["dev", "staging", "prod"]
}

resource "aws_ecr_repository" "shop" {
  for_each = toset(["cart", "catalog", "checkout", "frontend"])
  name     = "shop/${each.key}"

  image_scanning_configuration {
    scan_on_push = true
  }
}
